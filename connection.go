package strongroom

import "time"

// ConnectionID identifies a connection inside an organization.
type ConnectionID string

// ConnectionStatus is the state of a connection as stored.
type ConnectionStatus string

// The stored connection states. "expired" is not stored: it is derived when the
// access token has expired and there is no refresh token (see Connection.State).
const (
	// ConnectionActive: the tokens were issued or refreshed successfully.
	ConnectionActive ConnectionStatus = "active"
	// ConnectionFailed: the provider refused the refresh token (the grant was
	// revoked or expired there); an Admin must connect again.
	ConnectionFailed ConnectionStatus = "failed"
	// ConnectionExpired: the access token has expired and cannot be refreshed.
	ConnectionExpired ConnectionStatus = "expired"
)

// Connection is an organization's OAuth 2.0 grant to a third-party platform
// (DAT-04). Its tokens are stored only sealed with the organization's data key;
// disconnecting revokes them at the provider and deletes them.
type Connection struct {
	TenantID    TenantID
	ID          ConnectionID
	Provider    string // the configured provider's name
	Status      ConnectionStatus
	Scopes      []string // the scopes the provider granted
	ConnectedBy UserID
	// ExpiresAt is when the access token expires; nil when the provider did not
	// say.
	ExpiresAt *time.Time
	// Refreshable reports whether the sealed tokens include a refresh token.
	Refreshable bool
	Tokens      []byte // the sealed token set (an envelope); never logged or returned
	KeyID       uint32 // the data-key version that sealed Tokens
	Version     int64  // incremented by every change of the tokens or status
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// State is the connection's status as shown: the stored status, or "expired"
// when the access token has expired at now and cannot be refreshed.
func (c *Connection) State(now time.Time) ConnectionStatus {
	if c.Status == ConnectionActive && !c.Refreshable && c.ExpiresAt != nil && !now.Before(*c.ExpiresAt) {
		return ConnectionExpired
	}
	return c.Status
}
