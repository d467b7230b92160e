// Package strongroom holds the domain vocabulary that every layer of Strongroom
// speaks: identifiers, roles, principals, the tenant-owned entities, audit events,
// the error type and the context helpers. It imports only the standard library.
package strongroom

import "time"

// TenantID identifies an organization (a tenant). Every tenant-owned row carries one.
type TenantID string

// PlatformTenant is the reserved tenant of the platform itself: the platform audit
// chain and other operator-level rows use it. It can never collide with an
// organization's ID, which is a UUIDv7.
const PlatformTenant TenantID = "00000000-0000-0000-0000-000000000000"

// UserID identifies a user: one global identity per e-mail address.
type UserID string

// ClientID identifies a client (a sub-account) inside an organization.
type ClientID string

// CollectionID identifies a collection inside an organization.
type CollectionID string

// RecordID identifies a record inside an organization.
type RecordID string

// SessionID identifies a server-side session.
type SessionID string

// User is a global identity. Its e-mail is unique across the platform (IAM-01).
type User struct {
	ID              UserID
	Email           string
	PasswordHash    string // PHC-formatted argon2id hash; never logged or returned
	EmailVerifiedAt *time.Time
	CreatedAt       time.Time
	// Operator marks platform staff; operators always need MFA (IAM-07).
	Operator          bool
	PasswordChangedAt *time.Time
}

// HasPassword reports whether the user can sign in with a password (accounts
// made by an invitation, e-mail code or OpenID Connect may have none).
func (u *User) HasPassword() bool { return u.PasswordHash != "" }

// Organization is a tenant.
type Organization struct {
	ID        TenantID
	Name      string
	CreatedAt time.Time
}

// Membership gives a user a role in an organization.
type Membership struct {
	TenantID  TenantID
	UserID    UserID
	Role      Role
	CreatedAt time.Time
	Email     string // the member's e-mail, for listings
	// Clients lists the clients an Editor or Viewer is limited to. Empty means the
	// member is not limited. Admins are never limited.
	Clients []ClientID
}

// OrgMembership is an organization as seen by one of its members.
type OrgMembership struct {
	Organization Organization
	Role         Role
}

// Client is a sub-account inside an organization (a customer, an ad account, a matter).
type Client struct {
	TenantID  TenantID
	ID        ClientID
	Name      string
	CreatedAt time.Time
}

// Collection is a named set of records with a JSON Schema and a list of searchable
// fields.
type Collection struct {
	TenantID   TenantID
	ID         CollectionID
	Name       string
	Schema     []byte   // the JSON Schema document, as given
	Searchable []string // dotted field paths that can be filtered on
	CreatedAt  time.Time
	// Retention is the collection's own policy; nil follows the organization's
	// default (OrgSettings.DefaultRetention).
	Retention *RetentionPolicy
}

// File is a blob attached to a record: its metadata. The content lives in the
// blob store, sealed as an envelope stream under the tenant data key KeyID.
type File struct {
	TenantID     TenantID
	CollectionID CollectionID
	RecordID     RecordID
	ID           FileID
	Name         string // sanitised, at most 255 bytes
	ContentType  string // sniffed by the server, never the uploader's claim
	Size         int64  // bytes of plaintext
	SHA256       []byte // of the plaintext
	KeyID        uint32
	CreatedBy    string // the principal's actor id
	CreatedAt    time.Time
}

// FileID identifies a file within its organization (a UUIDv7).
type FileID string

// Record is a JSON document in a collection, optionally owned by a client.
type Record struct {
	TenantID     TenantID
	CollectionID CollectionID
	ID           RecordID
	ClientID     *ClientID
	Version      int64
	Data         []byte // the sealed canonical JSON of the document (an envelope)
	KeyID        uint32 // the data-key version that sealed Data
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Restricted records (a data-subject request's restriction, LIF-02) are
	// hidden from everyone but Admins and excluded from processing.
	Restricted bool
}

// Session is a server-side session. Only the SHA-256 hash of its token is stored.
type Session struct {
	ID         SessionID
	UserID     UserID
	TokenHash  []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	IP         string
	DeviceType string
	UserAgent  string
	OS         string
	Browser    string
	// AAL is the NIST SP 800-63B-4 authenticator assurance level reached: 2 only
	// after two factors (password or e-mail code plus TOTP or WebAuthn) or a
	// passkey with user verification. E-mailed codes and links alone are AAL1.
	AAL int
	// Methods lists how the session was authenticated, e.g. ["password", "totp"].
	Methods []string
	// AuthTime is the last time the user proved who they are (step-up).
	AuthTime time.Time
	// IdleTimeout ends the session after this long without a request.
	IdleTimeout time.Duration
	// Cookie is set for browser sessions carried by the __Host- cookie.
	Cookie bool
}

// Visibility says which records of an organization a principal may see: all of
// them, or only those without a client and those of the listed clients (IAM-09).
type Visibility struct {
	All     bool
	Clients []ClientID
	// Restricted: restricted records are visible too (Admins only, LIF-02).
	Restricted bool
}

// Allows reports whether a record owned by client (nil: no client) is visible.
func (v Visibility) Allows(client *ClientID) bool {
	if v.All || client == nil {
		return true
	}
	for _, c := range v.Clients {
		if c == *client {
			return true
		}
	}
	return false
}
