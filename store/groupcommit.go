package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// maxBatch bounds how many writes share one SQLite transaction.
const maxBatch = 256

// groupWriter serializes SQLite writes through one goroutine and one connection,
// batching the writes that queue up while a commit is in flight into a single
// transaction: each write runs in its own savepoint (so one failure rolls back
// alone), the batch commits with one fsync, and then every waiting caller is
// answered. Durable commits per second become batches per second times batch size.
type groupWriter struct {
	s    *Store
	conn *sql.Conn
	jobs chan *writeJob
	quit chan struct{}
	done chan struct{}
	once sync.Once
	// stmts are statements prepared on conn; used by the writer goroutine only.
	stmts map[string]*sql.Stmt
}

type writeJob struct {
	ctx   context.Context
	scope Scope
	fn    func(*Tx) error
	err   error // fn's own result
	res   chan error
}

var errStoreClosed = errors.New("store: closed")

func newGroupWriter(ctx context.Context, s *Store) (*groupWriter, error) {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening sqlite writer connection: %w", err)
	}
	g := &groupWriter{
		s:    s,
		conn: conn,
		jobs: make(chan *writeJob, 4*maxBatch),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go g.loop()
	return g, nil
}

func (g *groupWriter) submit(ctx context.Context, scope Scope, fn func(*Tx) error) error {
	j := &writeJob{ctx: ctx, scope: scope, fn: fn, res: make(chan error, 1)}
	select {
	case g.jobs <- j:
	case <-g.quit:
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the job may already be
	// part of a batch, and the caller must learn whether it committed.
	select {
	case err := <-j.res:
		return err
	case <-g.done:
		return errStoreClosed
	}
}

func (g *groupWriter) stop() {
	g.once.Do(func() {
		close(g.quit)
		<-g.done
		for _, st := range g.stmts {
			st.Close()
		}
		g.conn.Close()
	})
}

func (g *groupWriter) loop() {
	defer close(g.done)
	batch := make([]*writeJob, 0, maxBatch)
	for {
		select {
		case <-g.quit:
			g.drainClosed()
			return
		case j := <-g.jobs:
			batch = append(batch[:0], j)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-g.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		g.runBatch(batch)
	}
}

func (g *groupWriter) drainClosed() {
	for {
		select {
		case j := <-g.jobs:
			j.res <- errStoreClosed
		default:
			return
		}
	}
}

// runBatch commits the batch's writes in one transaction and answers each job.
func (g *groupWriter) runBatch(batch []*writeJob) {
	ctx := context.Background()
	if _, err := g.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		err = fmt.Errorf("beginning write batch: %w", err)
		for _, j := range batch {
			j.res <- err
		}
		return
	}
	for _, j := range batch {
		var broken bool
		broken, j.err = g.runJob(ctx, j)
		if broken {
			// The batch transaction may be gone (SQLite rolls back by itself
			// after some errors) and later savepoints would commit on their
			// own: end the batch and fail every write of it. The cause is
			// formatted, not wrapped, so that no caller matches another's error.
			err := fmt.Errorf("write batch aborted: %v", j.err)
			g.s.log.Error("sqlite write batch aborted", "err", j.err, "batch", len(batch))
			_, _ = g.conn.ExecContext(ctx, "ROLLBACK")
			for _, j := range batch {
				j.res <- err
			}
			return
		}
	}
	if _, err := g.conn.ExecContext(ctx, "COMMIT"); err != nil {
		err = fmt.Errorf("committing write batch: %w", err)
		g.s.log.Error("sqlite group commit failed", "err", err, "batch", len(batch))
		_, _ = g.conn.ExecContext(ctx, "ROLLBACK")
		for _, j := range batch {
			j.res <- err
		}
		return
	}
	for _, j := range batch {
		j.res <- j.err
	}
}

// runJob runs one write inside a savepoint of the batch transaction. broken
// reports that the savepoint could not be rolled back or released, which leaves
// the batch transaction in an unknown state.
func (g *groupWriter) runJob(ctx context.Context, j *writeJob) (broken bool, err error) {
	if err := j.ctx.Err(); err != nil {
		return false, err
	}
	if _, err := g.execCached(ctx, "SAVEPOINT w"); err != nil {
		return false, fmt.Errorf("opening savepoint: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
		if err != nil {
			if _, rerr := g.execCached(ctx, "ROLLBACK TO w"); rerr != nil {
				broken = true
				err = errors.Join(err, fmt.Errorf("rolling back savepoint: %w", rerr))
			}
		}
		if _, rerr := g.execCached(ctx, "RELEASE w"); rerr != nil {
			broken = true
			err = errors.Join(err, fmt.Errorf("releasing savepoint: %w", rerr))
		}
	}()
	tx := &Tx{s: g.s, q: jobConn{g}, scope: j.scope, writable: true}
	return false, j.fn(tx)
}

// jobConn is the querier of a job's Tx: the batch connection, without the
// caller's cancellation. The driver answers a context cancelled while a
// statement runs with sqlite3_interrupt, and SQLite answers an interrupted write
// by rolling back the whole transaction, every other write of the batch with
// it. Instead, a cancelled caller fails at its next statement, inside its own
// savepoint.
type jobConn struct{ g *groupWriter }

// ctx returns the context to run a statement with. A context that is already
// done is passed as it is: the driver refuses it before running anything.
func (jobConn) ctx(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (q jobConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(args) == 0 { // migrations: possibly several statements, run as they are
		return q.g.conn.ExecContext(q.ctx(ctx), query)
	}
	if st := q.g.stmt(ctx, query); st != nil {
		return st.ExecContext(q.ctx(ctx), args...)
	}
	return q.g.conn.ExecContext(q.ctx(ctx), query, args...)
}

func (q jobConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if st := q.g.stmt(ctx, query); st != nil {
		return st.QueryContext(q.ctx(ctx), args...)
	}
	return q.g.conn.QueryContext(q.ctx(ctx), query, args...)
}

func (q jobConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.g.stmt(ctx, query); st != nil {
		return st.QueryRowContext(q.ctx(ctx), args...)
	}
	return q.g.conn.QueryRowContext(q.ctx(ctx), query, args...)
}

// stmt returns the writer connection's prepared statement for query, preparing
// it on first use: modernc's driver has no statement cache, and parsing every
// statement again costs the writer goroutine — the one that bounds durable
// writes per second — a large share of its time. Only the writer goroutine
// calls it. Past maxCachedStmts query shapes, or if preparing fails, it returns
// nil and the caller runs the query unprepared.
func (g *groupWriter) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := g.stmts[query]; ok {
		return st
	}
	if len(g.stmts) >= maxCachedStmts {
		return nil
	}
	st, err := g.conn.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	if g.stmts == nil {
		g.stmts = map[string]*sql.Stmt{}
	}
	g.stmts[query] = st
	return st
}

// execCached runs a fixed statement of the batch protocol (savepoints) from the
// statement cache.
func (g *groupWriter) execCached(ctx context.Context, query string) (sql.Result, error) {
	if st := g.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx)
	}
	return g.conn.ExecContext(ctx, query)
}
