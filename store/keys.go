package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// The keyring's wrapped keys live apart from tenant data: on SQLite in a second
// database file (keyring.db beside the data), on PostgreSQL in the schema
// strongroom_keyring. Backups of data never contain them, and destroying a
// tenant's rows here makes every copy of its data unreadable (crypto-shredding).

// KeyKind says what a tenant key is for.
type KeyKind string

// The key kinds.
const (
	KeyData  KeyKind = "data"  // seals payloads (AES-256-GCM)
	KeyIndex KeyKind = "index" // keys blind indexes (HMAC-SHA256)
	// KeyShredded is the tombstone left when a tenant's keys are destroyed, so
	// that no new keys are ever made for it.
	KeyShredded KeyKind = "shredded"
	// KeySigning is the platform's Ed25519 seed that signs audit checkpoints
	// (stored for strongroom.PlatformTenant only).
	KeySigning KeyKind = "signing"
)

// WrappedKey is a tenant key as stored: wrapped by the master key KEKID.
type WrappedKey struct {
	Tenant    strongroom.TenantID
	Kind      KeyKind
	Version   uint32
	KEKID     string
	Wrapped   []byte
	CreatedAt time.Time
}

// sqliteKeyringSchema creates the keyring table as the current version has it.
// The keyring file has no migration table: its PRAGMA user_version is its
// version (0: as first released, 1: kind 'signing' allowed).
const sqliteKeyringSchema = `CREATE TABLE IF NOT EXISTS tenant_keys (
    tenant_id  TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('data', 'index', 'shredded', 'signing')),
    version    INTEGER NOT NULL,
    kek_id     TEXT    NOT NULL,
    wrapped    BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, version)
) STRICT, WITHOUT ROWID`

const sqliteKeyringVersion = 1

func (s *Store) openSQLiteKeyring(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return fmt.Errorf("opening keyring: %w", err)
	}
	db.SetMaxOpenConns(1)
	if err := upgradeSQLiteKeyring(ctx, db); err != nil {
		db.Close()
		return fmt.Errorf("creating keyring %s: %w", path, err)
	}
	s.keys = db
	s.keysTable = "tenant_keys"
	return nil
}

// upgradeSQLiteKeyring creates the keyring table, or brings one of an older
// version up to date in one transaction. SQLite cannot change a CHECK
// constraint, so version 0's table is copied into a new one.
func upgradeSQLiteKeyring(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() { _, _ = conn.ExecContext(ctx, "ROLLBACK") }()
	var version, tables int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'tenant_keys'").Scan(&tables); err != nil {
		return err
	}
	if version >= sqliteKeyringVersion {
		return nil
	}
	steps := []string{sqliteKeyringSchema}
	if tables > 0 {
		steps = []string{
			"ALTER TABLE tenant_keys RENAME TO tenant_keys_v0",
			sqliteKeyringSchema,
			"INSERT INTO tenant_keys SELECT * FROM tenant_keys_v0",
			"DROP TABLE tenant_keys_v0",
		}
	}
	steps = append(steps, fmt.Sprintf("PRAGMA user_version = %d", sqliteKeyringVersion))
	for _, q := range steps {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// TenantKeys returns a tenant's wrapped keys, oldest first.
func (s *Store) TenantKeys(ctx context.Context, tenant strongroom.TenantID) ([]WrappedKey, error) {
	rows, err := s.keys.QueryContext(ctx,
		"SELECT kind, version, kek_id, wrapped, created_at FROM "+s.keysTable+
			" WHERE tenant_id = $1 ORDER BY kind, version", string(tenant))
	if err != nil {
		return nil, fmt.Errorf("reading keyring: %w", err)
	}
	defer rows.Close()
	var out []WrappedKey
	for rows.Next() {
		k := WrappedKey{Tenant: tenant}
		var created int64
		if err := rows.Scan(&k.Kind, &k.Version, &k.KEKID, &k.Wrapped, &created); err != nil {
			return nil, fmt.Errorf("reading keyring: %w", err)
		}
		k.CreatedAt = fromMicros(created)
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddTenantKey stores a new wrapped key. A key of the same tenant, kind and
// version already stored (another replica was first) is ECONFLICT.
func (s *Store) AddTenantKey(ctx context.Context, k WrappedKey) error {
	_, err := s.keys.ExecContext(ctx,
		"INSERT INTO "+s.keysTable+" (tenant_id, kind, version, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		string(k.Tenant), string(k.Kind), k.Version, k.KEKID, k.Wrapped, micros(k.CreatedAt))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "key version exists")
	}
	if err != nil {
		return fmt.Errorf("storing key: %w", err)
	}
	return nil
}

// DestroyTenantKeys deletes every key of a tenant and leaves a tombstone: its
// data can never be read again, wherever a copy of it lies, and no new key is
// made for it. It returns the keys destroyed (without their wrapped bytes).
func (s *Store) DestroyTenantKeys(ctx context.Context, tenant strongroom.TenantID) ([]WrappedKey, error) {
	keys, err := s.TenantKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	tx, err := s.keys.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("destroying keys: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+s.keysTable+" WHERE tenant_id = $1", string(tenant)); err != nil {
		return nil, fmt.Errorf("destroying keys: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO "+s.keysTable+" (tenant_id, kind, version, kek_id, wrapped, created_at) VALUES ($1, $2, 0, '', $3, $4)",
		string(tenant), string(KeyShredded), []byte{}, micros(s.now())); err != nil {
		return nil, fmt.Errorf("recording destroyed keys: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("destroying keys: %w", err)
	}
	var out []WrappedKey
	for _, k := range keys {
		if k.Kind != KeyShredded {
			k.Wrapped = nil
			out = append(out, k)
		}
	}
	return out, nil
}

// RewrapKeys replaces the wrapping of every stored key in one transaction:
// rewrap gets each key and returns its new wrapping and master-key ID. Nothing
// changes if rewrap fails for any key.
func (s *Store) RewrapKeys(ctx context.Context, rewrap func(WrappedKey) ([]byte, string, error)) (int, error) {
	tx, err := s.keys.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("beginning rewrap: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, "SELECT tenant_id, kind, version, kek_id, wrapped, created_at FROM "+s.keysTable)
	if err != nil {
		return 0, fmt.Errorf("reading keyring: %w", err)
	}
	var all []WrappedKey
	for rows.Next() {
		var k WrappedKey
		var created int64
		if err := rows.Scan(&k.Tenant, &k.Kind, &k.Version, &k.KEKID, &k.Wrapped, &created); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading keyring: %w", err)
		}
		k.CreatedAt = fromMicros(created)
		all = append(all, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading keyring: %w", err)
	}
	for _, k := range all {
		if k.Kind == KeyShredded {
			continue
		}
		wrapped, kekID, err := rewrap(k)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+s.keysTable+" SET wrapped = $1, kek_id = $2 WHERE tenant_id = $3 AND kind = $4 AND version = $5",
			wrapped, kekID, string(k.Tenant), string(k.Kind), k.Version); err != nil {
			return 0, fmt.Errorf("rewrapping key: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing rewrap: %w", err)
	}
	return len(all), nil
}

// KeyringTenants lists every tenant that has data keys (for rotating all of
// them); the platform's signing key does not count.
func (s *Store) KeyringTenants(ctx context.Context) ([]strongroom.TenantID, error) {
	rows, err := s.keys.QueryContext(ctx, "SELECT DISTINCT tenant_id FROM "+s.keysTable+" WHERE kind IN ('data', 'index') ORDER BY tenant_id")
	if err != nil {
		return nil, fmt.Errorf("listing keyring tenants: %w", err)
	}
	defer rows.Close()
	var out []strongroom.TenantID
	for rows.Next() {
		var t strongroom.TenantID
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("listing keyring tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// KeyringStats summarizes the keyring for doctor and the trust page.
type KeyringStats struct {
	Tenants       int       // tenants with live keys
	Shredded      int       // tenants whose keys were destroyed
	OldestCurrent time.Time // creation of the oldest current data key (zero: none)
	NewestData    time.Time // creation of the newest data key (zero: none)
	KEKIDs        []string  // master keys that wrap stored keys
}

// KeyringStats reads the keyring's summary.
func (s *Store) KeyringStats(ctx context.Context) (KeyringStats, error) {
	var st KeyringStats
	var oldest, newest sql.NullInt64
	err := s.keys.QueryRowContext(ctx, `SELECT
		(SELECT count(DISTINCT tenant_id) FROM `+s.keysTable+` WHERE kind = 'data'),
		(SELECT count(*) FROM `+s.keysTable+` WHERE kind = 'shredded'),
		(SELECT min(created_at) FROM (SELECT max(created_at) AS created_at FROM `+s.keysTable+` WHERE kind = 'data' GROUP BY tenant_id) AS current_keys),
		(SELECT max(created_at) FROM `+s.keysTable+` WHERE kind = 'data')`).
		Scan(&st.Tenants, &st.Shredded, &oldest, &newest)
	if err != nil {
		return st, fmt.Errorf("reading keyring summary: %w", err)
	}
	if oldest.Valid {
		st.OldestCurrent = fromMicros(oldest.Int64)
	}
	if newest.Valid {
		st.NewestData = fromMicros(newest.Int64)
	}
	rows, err := s.keys.QueryContext(ctx, "SELECT DISTINCT kek_id FROM "+s.keysTable+" WHERE kind <> 'shredded' ORDER BY kek_id")
	if err != nil {
		return st, fmt.Errorf("reading keyring summary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return st, fmt.Errorf("reading keyring summary: %w", err)
		}
		st.KEKIDs = append(st.KEKIDs, id)
	}
	return st, rows.Err()
}

// AllWrappedKeys returns every row of the keyring, tombstones included, for a
// keyring backup: the keys stay wrapped by their master keys.
func (s *Store) AllWrappedKeys(ctx context.Context) ([]WrappedKey, error) {
	rows, err := s.keys.QueryContext(ctx,
		"SELECT tenant_id, kind, version, kek_id, wrapped, created_at FROM "+s.keysTable+" ORDER BY tenant_id, kind, version")
	if err != nil {
		return nil, fmt.Errorf("reading keyring: %w", err)
	}
	defer rows.Close()
	var out []WrappedKey
	for rows.Next() {
		var k WrappedKey
		var created int64
		if err := rows.Scan(&k.Tenant, &k.Kind, &k.Version, &k.KEKID, &k.Wrapped, &created); err != nil {
			return nil, fmt.Errorf("reading keyring: %w", err)
		}
		k.CreatedAt = fromMicros(created)
		out = append(out, k)
	}
	return out, rows.Err()
}

// LoadWrappedKeys writes keys into an empty keyring in one transaction (a
// keyring restore); a keyring that holds any key is refused with ErrNotEmpty.
func (s *Store) LoadWrappedKeys(ctx context.Context, keys []WrappedKey) error {
	tx, err := s.keys.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("restoring keyring: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+s.keysTable).Scan(&n); err != nil {
		return fmt.Errorf("restoring keyring: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: the keyring holds %d keys", ErrNotEmpty, n)
	}
	for _, k := range keys {
		if k.Wrapped == nil {
			k.Wrapped = []byte{} // a tombstone's
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO "+s.keysTable+" (tenant_id, kind, version, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
			string(k.Tenant), string(k.Kind), k.Version, k.KEKID, k.Wrapped, micros(k.CreatedAt)); err != nil {
			return fmt.Errorf("restoring key of %s: %w", k.Tenant, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing keyring restore: %w", err)
	}
	return nil
}
