package store

import "context"

// Platform rows (subprocessors, the status page, policy changes, ...) are
// read the same way: the transaction must be bound to the platform tenant,
// whose id is the query's $1; the caller's arguments follow as $2, $3, ...

// platformArgs checks the platform scope and prepends its tenant id to args.
func (tx *Tx) platformArgs(args []any) ([]any, error) {
	t, err := tx.platform()
	if err != nil {
		return nil, err
	}
	return append([]any{string(t)}, args...), nil
}

// platformList lists the platform rows query selects, scanned by scan; what
// names them in errors.
func platformList[T any](ctx context.Context, tx *Tx, what string, scan func(interface{ Scan(...any) error }) (*T, error), query string, args ...any) ([]T, error) {
	all, err := tx.platformArgs(args)
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, what, scan, query, all...)
}

// platformRow reads the one platform row query selects; scan turns
// sql.ErrNoRows into the caller's ENOTFOUND.
func platformRow[T any](ctx context.Context, tx *Tx, scan func(interface{ Scan(...any) error }) (*T, error), query string, args ...any) (*T, error) {
	all, err := tx.platformArgs(args)
	if err != nil {
		return nil, err
	}
	return scan(tx.q.QueryRowContext(ctx, query, all...))
}
