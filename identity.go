package strongroom

import "time"

// Sign-in methods an organization can allow (OrgSettings.SignInMethods).
const (
	MethodPassword = "password"
	MethodEmail    = "email"    // one-time code or magic link by e-mail
	MethodOIDC     = "oidc"     // an OpenID Connect provider
	MethodPasskey  = "passkey"  // WebAuthn discoverable credential, passwordless
	MethodTOTP     = "totp"     // second factor: authenticator app
	MethodWebAuthn = "webauthn" // second factor: security key or passkey
	MethodRecovery = "recovery" // second factor: single-use recovery code
)

// SignInMethods are the first-factor methods, in display order.
var SignInMethods = []string{MethodPassword, MethodEmail, MethodOIDC, MethodPasskey}

// OrgSettings are an organization's security settings. The zero value of each
// field means "the platform default".
type OrgSettings struct {
	// MFARequired: members must have signed in with TOTP or WebAuthn (AAL2) to
	// reach the organization; members without a factor must enrol first (IAM-07).
	MFARequired bool `json:"mfa_required"`
	// EmailVerifyEachSignIn: after the first factor, a code e-mailed to the
	// member is required (not an MFA factor under NIST SP 800-63B-4).
	EmailVerifyEachSignIn bool `json:"email_verify_each_sign_in"`
	// SignInMethods allowed to reach the organization; empty allows all.
	SignInMethods []string `json:"sign_in_methods"`
	// AllowedEmailDomains limits members and invitations to these domains; empty
	// allows any.
	AllowedEmailDomains []string `json:"allowed_email_domains"`
	// SessionIdleMinutes and SessionAbsoluteHours shorten (never lengthen
	// beyond the platform maximum) the lifetimes of sessions reaching the
	// organization; 0 keeps the platform default.
	SessionIdleMinutes   int `json:"session_idle_minutes"`
	SessionAbsoluteHours int `json:"session_absolute_hours"`
	// DefaultRetention applies to collections without their own policy
	// (LIF-01); nil keeps records until deleted by hand.
	DefaultRetention *RetentionPolicy `json:"default_retention"`
	// AuditRetentionDays is how long audit events are kept; 0 keeps them
	// forever. It can never be set below the platform's legal minimum.
	AuditRetentionDays int `json:"audit_retention_days"`
}

// AllowsMethod reports whether a session authenticated by methods may reach the
// organization: one of its first-factor methods must be allowed.
func (s *OrgSettings) AllowsMethod(methods []string) bool {
	if len(s.SignInMethods) == 0 {
		return true
	}
	for _, m := range methods {
		for _, a := range s.SignInMethods {
			if m == a {
				return true
			}
		}
	}
	return false
}

// APIKeyID identifies an API key inside an organization.
type APIKeyID string

// APIKey is an organization's key for programs (IAM-14). Only the SHA-256 of the
// whole key is stored; Prefix is the public part shown in lists.
type APIKey struct {
	TenantID   TenantID
	ID         APIKeyID
	Name       string
	Prefix     string
	SecretHash []byte
	Role       Role
	ClientID   *ClientID // limits the key to one client's records
	CreatedBy  UserID
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	RotatedTo  *APIKeyID // the key that replaced this one (rotation overlap)
}

// Active reports whether the key authenticates at now.
func (k *APIKey) Active(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// InvitationID identifies an invitation inside an organization.
type InvitationID string

// Invitation asks someone to join an organization with a role (and client
// assignments). Single use and expiring; only the token's hash is stored.
type Invitation struct {
	TenantID   TenantID
	ID         InvitationID
	Email      string
	Role       Role
	Clients    []ClientID
	TokenHash  []byte
	InvitedBy  UserID
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	AcceptedBy *UserID
	RevokedAt  *time.Time
}

// MFAFactor is a user's TOTP authenticator or WebAuthn credential.
type MFAFactor struct {
	ID           string
	UserID       UserID
	Kind         string // MethodTOTP or MethodWebAuthn
	Name         string
	CredentialID []byte // WebAuthn only
	Secret       []byte // sealed: the TOTP secret or the WebAuthn credential
	LastStep     int64  // TOTP: the last accepted time step (replay guard)
	ConfirmedAt  *time.Time
	CreatedAt    time.Time
	LastUsedAt   *time.Time
}

// FederatedIdentity links an OpenID Connect account to a user. It is keyed on
// (Issuer, Subject), never on the e-mail address.
type FederatedIdentity struct {
	Issuer     string
	Subject    string
	UserID     UserID
	Email      string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// AuthChallenge is a short-lived, single-use step of an authentication
// ceremony: an e-mailed code or link, the MFA step after a first factor, a
// password reset, an OpenID Connect or WebAuthn ceremony.
type AuthChallenge struct {
	ID        string
	Purpose   string
	UserID    *UserID
	Email     string
	TokenHash []byte // SHA-256 of the bearer part given to the client
	CodeHash  []byte // keyed hash of a short code, when there is one
	Attempts  int
	Data      []byte // sealed ceremony state
	CreatedAt time.Time
	ExpiresAt time.Time
}
