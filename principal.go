package strongroom

import (
	"context"
	"time"
)

// PrincipalKind says what kind of actor a principal is.
type PrincipalKind string

// The kinds of principal.
const (
	PrincipalAnonymous PrincipalKind = "anonymous"
	PrincipalUser      PrincipalKind = "user"
	PrincipalAPIKey    PrincipalKind = "api_key"
	PrincipalOperator  PrincipalKind = "operator"
	PrincipalSystem    PrincipalKind = "system"
)

// Principal is who is acting, and from where. The HTTP layer resolves it from the
// request; services decide access from it, and the audit log records it.
type Principal struct {
	Kind      PrincipalKind
	UserID    UserID
	SessionID SessionID
	// Session is the authenticated session (nil for API keys and anonymous
	// requests): its assurance level, methods and lifetimes decide what it may
	// reach (MFA required, step-up, organization session lifetimes).
	Session *Session
	// APIKey is set when an organization API key authenticated the request.
	APIKey *APIKey
	// Operator is set for platform staff signed in with MFA.
	Operator bool
	// Membership is set when the request targets an organization the principal is
	// a member of.
	Membership *Membership
	// OrgTerminated is set when that organization is terminated and in its
	// return window (LIF-03): only exporting it and managing the termination
	// remain allowed.
	OrgTerminated bool
	IP            string
	DeviceType    string
	UserAgent     string
	RequestID     string
}

// Authenticated reports whether the principal proved an identity.
func (p *Principal) Authenticated() bool {
	return p != nil && p.Kind != PrincipalAnonymous && p.Kind != ""
}

// Visibility is the set of records the principal may see in its current
// organization (IAM-09): Admins and unassigned members see all; members assigned to
// clients see records without a client and those of their clients.
func (p *Principal) Visibility() Visibility {
	if p == nil || p.Membership == nil {
		return Visibility{}
	}
	m := p.Membership
	if m.Role == RoleAdmin {
		return Visibility{All: true, Restricted: true}
	}
	if len(m.Clients) == 0 {
		return Visibility{All: true}
	}
	return Visibility{Clients: m.Clients}
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or an anonymous one.
func PrincipalFrom(ctx context.Context) *Principal {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok && p != nil {
		return p
	}
	return &Principal{Kind: PrincipalAnonymous}
}

// AAL is the authenticator assurance level of the principal's session (0 when
// there is none).
func (p *Principal) AAL() int {
	if p == nil || p.Session == nil {
		return 0
	}
	return p.Session.AAL
}

// AuthenticatedSince reports whether the principal's session proved its user's
// identity at or after t (step-up for sensitive actions).
func (p *Principal) AuthenticatedSince(t time.Time) bool {
	return p != nil && p.Session != nil && !p.Session.AuthTime.Before(t)
}
