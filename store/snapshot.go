package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Logical snapshots for backups (package backup): every table of the data
// schema, read in one consistent snapshot, as engine-neutral typed rows; and a
// loader that writes such rows into an empty store of either engine in one
// transaction. The keyring is never part of it: on SQLite it is another file,
// on PostgreSQL another schema (strongroom_keyring), and only the tables of the
// current schema are listed.
//
// On PostgreSQL both need a role that bypasses row-level security (the schema
// owner when it is a superuser, or a role with BYPASSRLS), like `migrate`
// needs the owner: the application role sees one tenant at a time.

// ColumnType is the engine-neutral class of a column's values.
type ColumnType string

// The column types of the logical format. Values are nil or, by type, int64,
// string, []byte, float64.
const (
	ColumnInteger ColumnType = "integer"
	ColumnText    ColumnType = "text"
	ColumnBytes   ColumnType = "bytes"
	ColumnReal    ColumnType = "real"
)

// Column is one column of a table.
type Column struct {
	Name string     `json:"name"`
	Type ColumnType `json:"type"`
}

// TableSchema is a table's name and columns, in the order a snapshot gives.
type TableSchema struct {
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
}

// notDumped are tables that belong to a database rather than its data: the
// applied migrations (the target has its own), leases (who runs background
// work now), backup runs (the backup being taken) and SQLite's own bookkeeping.
var notDumped = map[string]bool{"schema_migrations": true, "leases": true, "backup_runs": true, "sqlite_sequence": true, "sqlite_stat1": true}

// Snapshot is a consistent, read-only view of the whole data schema.
type Snapshot struct {
	s             *Store
	tx            *sql.Tx
	schemaVersion int
	tables        []TableSchema
}

// Snapshot runs fn on a consistent snapshot of every table: a read
// transaction on SQLite (WAL keeps its view while writers go on), a read-only
// REPEATABLE READ transaction on PostgreSQL with row security off (the role
// must bypass it; otherwise PostgreSQL refuses rather than return a filtered
// view).
func (s *Store) Snapshot(ctx context.Context, fn func(*Snapshot) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.engine == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.read.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("beginning snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.engine == Postgres {
		if _, err := tx.ExecContext(ctx, "SET LOCAL row_security = off"); err != nil {
			return fmt.Errorf("turning row security off: %w", err)
		}
	}
	sn := &Snapshot{s: s, tx: tx}
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&sn.schemaVersion); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if sn.tables, err = listTables(ctx, s.engine, tx); err != nil {
		return err
	}
	return fn(sn)
}

// SchemaVersion is the snapshot's applied migration version.
func (sn *Snapshot) SchemaVersion() int { return sn.schemaVersion }

// Engine is the snapshot's engine.
func (sn *Snapshot) Engine() Engine { return sn.s.engine }

// Tables lists the data tables, parents before the tables that refer to them.
func (sn *Snapshot) Tables() []TableSchema { return slices.Clone(sn.tables) }

// Scan calls fn with each row of table, values typed as the table's columns
// say. row is reused between calls.
func (sn *Snapshot) Scan(ctx context.Context, t TableSchema, fn func(row []any) error) error {
	return scanTable(ctx, sn.tx, t, fn)
}

// scanTable reads every row of t from q, normalized as Snapshot.Scan says.
func scanTable(ctx context.Context, q querier, t TableSchema, fn func(row []any) error) error {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = quoteIdent(c.Name)
	}
	rows, err := q.QueryContext(ctx, "SELECT "+strings.Join(names, ", ")+" FROM "+quoteIdent(t.Name))
	if err != nil {
		return fmt.Errorf("reading table %s: %w", t.Name, err)
	}
	defer rows.Close()
	raw := make([]any, len(t.Columns))
	ptrs := make([]any, len(t.Columns))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	row := make([]any, len(t.Columns))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("reading table %s: %w", t.Name, err)
		}
		for i, c := range t.Columns {
			v, err := NormalizeValue(c.Type, raw[i])
			if err != nil {
				return fmt.Errorf("reading table %s column %s: %w", t.Name, c.Name, err)
			}
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading table %s: %w", t.Name, err)
	}
	return nil
}

// NormalizeValue converts a driver value to the logical type of its column:
// nil, int64, string, []byte or float64.
func NormalizeValue(t ColumnType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case ColumnInteger:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case int16:
			return int64(x), nil
		case int:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case ColumnText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case ColumnBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case ColumnReal:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		}
	}
	return nil, fmt.Errorf("a %T value in a %s column", v, t)
}

// columnType maps a declared (SQLite) or catalog (PostgreSQL) type.
func columnType(decl string) (ColumnType, bool) {
	d := strings.ToLower(strings.TrimSpace(decl))
	switch {
	case strings.Contains(d, "int"):
		return ColumnInteger, true
	case strings.Contains(d, "text"), strings.Contains(d, "char"):
		return ColumnText, true
	case d == "blob", d == "bytea":
		return ColumnBytes, true
	case d == "real", strings.HasPrefix(d, "double"), strings.HasPrefix(d, "float"):
		return ColumnReal, true
	}
	return "", false
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// listTables returns the data tables with their columns, ordered so that every
// table comes after the tables its foreign keys name (ties by name).
func listTables(ctx context.Context, e Engine, q querier) ([]TableSchema, error) {
	var names []string
	var err error
	if e == Postgres {
		names, err = queryStrings(ctx, q, "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
	} else {
		names, err = queryStrings(ctx, q, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
	}
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return notDumped[n] || strings.HasPrefix(n, "sqlite_") })
	parents := map[string][]string{}
	tables := map[string]TableSchema{}
	for _, n := range names {
		t := TableSchema{Name: n}
		colsQuery := "SELECT name, type FROM pragma_table_info($1) ORDER BY cid"
		fkQuery := `SELECT DISTINCT "table" FROM pragma_foreign_key_list($1)`
		if e == Postgres {
			colsQuery = `SELECT column_name, data_type FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
			fkQuery = `SELECT DISTINCT p.relname FROM pg_catalog.pg_constraint c
				JOIN pg_catalog.pg_class r ON r.oid = c.conrelid JOIN pg_catalog.pg_class p ON p.oid = c.confrelid
				JOIN pg_catalog.pg_namespace ns ON ns.oid = r.relnamespace
				WHERE c.contype = 'f' AND ns.nspname = current_schema() AND r.relname = $1`
		}
		rows, err := q.QueryContext(ctx, colsQuery, n)
		if err != nil {
			return nil, fmt.Errorf("listing columns of %s: %w", n, err)
		}
		if err := scanColumns(rows, &t); err != nil {
			return nil, err
		}
		if parents[n], err = queryStrings(ctx, q, fkQuery, n); err != nil {
			return nil, fmt.Errorf("listing foreign keys of %s: %w", n, err)
		}
		tables[n] = t
	}
	// Depth-first topological order; names are visited sorted, so the order is
	// the same on both engines for the same schema.
	var out []TableSchema
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("foreign keys form a cycle through table %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		ps := slices.Clone(parents[n])
		slices.Sort(ps)
		for _, p := range ps {
			if _, ok := tables[p]; ok && p != n {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		out = append(out, tables[n])
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func scanColumns(rows *sql.Rows, t *TableSchema) error {
	defer rows.Close()
	for rows.Next() {
		var name, decl string
		if err := rows.Scan(&name, &decl); err != nil {
			return fmt.Errorf("listing columns of %s: %w", t.Name, err)
		}
		ct, ok := columnType(decl)
		if !ok {
			return fmt.Errorf("table %s column %s has type %q, which backups do not know", t.Name, name, decl)
		}
		t.Columns = append(t.Columns, Column{Name: name, Type: ct})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing columns of %s: %w", t.Name, err)
	}
	return nil
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ErrNotEmpty is returned by Load when the target store already holds data.
var ErrNotEmpty = errors.New("store: the target store is not empty")

// Loader writes logical rows into the store inside Load's transaction.
type Loader struct {
	q      querier
	engine Engine
	tables map[string]TableSchema
	order  []TableSchema
	// pending rows of the current table, inserted in multi-row statements.
	table   string
	cols    []string
	pending []any
	nrows   int
	// prepare, when set, prepares the batch statements, which are kept for
	// the batches of the same shape (SQLite's parse of a 1,000-parameter
	// INSERT is not free).
	prepare func(context.Context, string) (*sql.Stmt, error)
	stmts   map[string]*sql.Stmt
}

func (l *Loader) closeStmts() {
	for _, st := range l.stmts {
		st.Close()
	}
	l.stmts = nil
}

// loadBatchParams bounds the parameters of one multi-row INSERT (SQLite's
// default limit is 32766, PostgreSQL's 65535).
const loadBatchParams = 1000

// Load runs fn on a store that must hold no data rows and (on PostgreSQL) be
// migrated to exactly schemaVersion, and makes what fn inserted visible only
// if fn and the store's checks succeed: a failed load leaves the store empty.
// A row whose parent is missing fails the load with ErrForeignKey.
//
// On PostgreSQL it is one write transaction: rows must come parents first
// (the order of Snapshot.Tables), and identity sequences are moved past the
// loaded values before commit.
//
// On SQLite the rows go into a new database file beside the store's, built in
// bulk at schemaVersion (no journal, secondary indexes created after the
// rows, foreign keys deferred to the commit), synced and renamed over the
// store's empty file, whatever its version, which the store then reopens
// (bulkload.go). The caller must have the store to itself for the duration:
// Load closes and reopens its connections.
func (s *Store) Load(ctx context.Context, schemaVersion int, fn func(*Loader) error) error {
	if s.engine == SQLite {
		return s.loadSQLite(ctx, schemaVersion, fn)
	}
	stx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning load: %w", err)
	}
	defer func() { _ = stx.Rollback() }()
	if _, err := stx.ExecContext(ctx, "SET LOCAL row_security = off"); err != nil {
		return fmt.Errorf("turning row security off: %w", err)
	}
	ts, err := checkLoadTarget(ctx, s.engine, stx, schemaVersion)
	if err != nil {
		return err
	}
	l := newLoader(stx, s.engine, ts)
	if err := fn(l); err != nil {
		return err
	}
	if err := l.flush(ctx); err != nil {
		return err
	}
	if err := resetIdentities(ctx, stx); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("committing load: %w", err)
	}
	return nil
}

// checkLoadTarget lists the target's data tables after checking that every
// one is empty and the schema is at schemaVersion.
func checkLoadTarget(ctx context.Context, e Engine, q querier, schemaVersion int) ([]TableSchema, error) {
	ts, err := listTables(ctx, e, q)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		var one int
		err := q.QueryRowContext(ctx, "SELECT 1 FROM "+quoteIdent(t.Name)+" LIMIT 1").Scan(&one)
		if err == nil {
			return nil, fmt.Errorf("%w: table %s has rows", ErrNotEmpty, t.Name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("checking table %s is empty: %w", t.Name, err)
		}
	}
	var have int
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return nil, fmt.Errorf("reading schema version: %w", err)
	}
	if have != schemaVersion {
		return nil, fmt.Errorf("store: the target schema is at version %d, the rows are of version %d", have, schemaVersion)
	}
	return ts, nil
}

func newLoader(q querier, e Engine, ts []TableSchema) *Loader {
	l := &Loader{q: q, engine: e, tables: map[string]TableSchema{}, order: ts}
	for _, t := range ts {
		l.tables[t.Name] = t
	}
	return l
}

// Tables lists the target's data tables, parents first.
func (l *Loader) Tables() []TableSchema { return slices.Clone(l.order) }

// Insert adds one row to table; cols name the row's values, which must be of
// the logical types of the target's columns. Rows are sent in batches.
func (l *Loader) Insert(ctx context.Context, table string, cols []string, row []any) error {
	if table != l.table || !slices.Equal(cols, l.cols) {
		if err := l.flush(ctx); err != nil {
			return err
		}
		t, ok := l.tables[table]
		if !ok {
			return fmt.Errorf("store: the target has no table %s", table)
		}
		for _, c := range cols {
			if !slices.ContainsFunc(t.Columns, func(tc Column) bool { return tc.Name == c }) {
				return fmt.Errorf("store: the target table %s has no column %s", table, c)
			}
		}
		l.table, l.cols = table, slices.Clone(cols)
	}
	if len(row) != len(cols) {
		return fmt.Errorf("store: a row of %d values for %d columns", len(row), len(cols))
	}
	l.pending = append(l.pending, row...)
	l.nrows++
	if (l.nrows+1)*len(cols) > loadBatchParams {
		return l.flush(ctx)
	}
	return nil
}

func (l *Loader) flush(ctx context.Context) error {
	if l.nrows == 0 {
		return nil
	}
	names := make([]string, len(l.cols))
	for i, c := range l.cols {
		names[i] = quoteIdent(c)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + quoteIdent(l.table) + " (" + strings.Join(names, ", ") + ")")
	if l.engine == Postgres {
		b.WriteString(" OVERRIDING SYSTEM VALUE")
	}
	b.WriteString(" VALUES ")
	n := 1
	for r := 0; r < l.nrows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range l.cols {
			if c > 0 {
				b.WriteByte(',')
			}
			// SQLite: anonymous parameters; the driver looks each numbered
			// one up by name, a scan that grows with the statement.
			if l.engine == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteString("$" + strconv.Itoa(n))
			}
			n++
		}
		b.WriteByte(')')
	}
	if err := l.exec(ctx, b.String()); err != nil {
		if isForeignKeyViolation(err) {
			return fmt.Errorf("%w: loading table %s: %w", ErrForeignKey, l.table, err)
		}
		return fmt.Errorf("loading table %s: %w", l.table, err)
	}
	clear(l.pending)
	l.pending, l.nrows = l.pending[:0], 0
	return nil
}

func (l *Loader) exec(ctx context.Context, query string) error {
	if l.prepare == nil {
		_, err := l.q.ExecContext(ctx, query, l.pending...)
		return err
	}
	st, ok := l.stmts[query]
	if !ok {
		var err error
		if st, err = l.prepare(ctx, query); err != nil {
			return err
		}
		if l.stmts == nil {
			l.stmts = map[string]*sql.Stmt{}
		}
		l.stmts[query] = st
	}
	_, err := st.ExecContext(ctx, l.pending...)
	return err
}

// resetIdentities moves each identity column's sequence to the column's
// largest value, so that new rows (audit events) continue after the loaded
// ones and pg_sequence_last_value reports the loaded head.
func resetIdentities(ctx context.Context, q querier) error {
	rows, err := q.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return fmt.Errorf("listing identity columns: %w", err)
	}
	type col struct{ table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			rows.Close()
			return fmt.Errorf("listing identity columns: %w", err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing identity columns: %w", err)
	}
	for _, c := range cols {
		if _, err := q.ExecContext(ctx, fmt.Sprintf(
			"SELECT setval(pg_get_serial_sequence($1, $2), m) FROM (SELECT MAX(%s) AS m FROM %s) x WHERE m IS NOT NULL",
			quoteIdent(c.column), quoteIdent(c.table)), c.table, c.column); err != nil {
			return fmt.Errorf("moving the sequence of %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// MigrateTo applies the pending migrations up to version (not beyond), for
// restoring a backup of an older schema before migrating the rest.
func (s *Store) MigrateTo(ctx context.Context, version int) ([]int, error) {
	ms, err := Migrations(s.engine)
	if err != nil {
		return nil, err
	}
	if version < 1 || version > len(ms) {
		return nil, fmt.Errorf("store: schema version %d is not one this binary knows (1..%d)", version, len(ms))
	}
	var applied []int
	for _, m := range ms[:version] {
		did, err := s.applyMigration(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("applying migration %s: %w", m.Name, err)
		}
		if did {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// HasData reports whether any data table holds a row (migrations and leases
// aside); a store without tables has none. Restores check it before they
// migrate anything, so a non-empty target is refused unchanged.
func (s *Store) HasData(ctx context.Context) (bool, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return false, fmt.Errorf("beginning read: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.engine == Postgres {
		if _, err := tx.ExecContext(ctx, "SET LOCAL row_security = off"); err != nil {
			return false, fmt.Errorf("turning row security off: %w", err)
		}
	}
	ts, err := listTables(ctx, s.engine, tx)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM "+quoteIdent(t.Name)+" LIMIT 1").Scan(&one)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("checking table %s: %w", t.Name, err)
		}
	}
	return false, nil
}
