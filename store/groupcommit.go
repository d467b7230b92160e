package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"strongroom.dev/strongroom"
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
	// event, when fn is nil, makes the job an audit-only append
	// (Store.AppendAuditEvent): the batch inserts these together.
	event *strongroom.AuditEvent
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
	return g.queue(ctx, &writeJob{ctx: ctx, scope: scope, fn: fn, res: make(chan error, 1)})
}

// submitAudit appends e on its own in the next batch; see Store.AppendAuditEvent.
func (g *groupWriter) submitAudit(ctx context.Context, scope Scope, e *strongroom.AuditEvent) error {
	return g.queue(ctx, &writeJob{ctx: ctx, scope: scope, event: e, res: make(chan error, 1)})
}

func (g *groupWriter) queue(ctx context.Context, j *writeJob) error {
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
	// abort ends the batch when the transaction's state is unknown: SQLite may
	// have rolled it back by itself after some errors, and later savepoints
	// would commit on their own. Every write of the batch fails. The cause is
	// formatted, not wrapped, so that no caller matches another's error.
	abort := func(cause error) {
		err := fmt.Errorf("write batch aborted: %v", cause)
		g.s.log.Error("sqlite write batch aborted", "err", cause, "batch", len(batch))
		_, _ = g.conn.ExecContext(ctx, "ROLLBACK")
		for _, j := range batch {
			j.res <- err
		}
	}
	var appends []*writeJob
	for _, j := range batch {
		if j.fn == nil {
			appends = append(appends, j)
			continue
		}
		var broken bool
		broken, j.err = g.runJob(ctx, j)
		if broken {
			abort(j.err)
			return
		}
	}
	if err := g.appendEvents(ctx, appends); err != nil {
		abort(err)
		return
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

// appendEvents inserts the events of the batch's audit-only jobs with a few
// multi-row inserts inside one savepoint, instead of a statement and a
// savepoint each. If that fails, it rolls the savepoint back and appends them
// one by one, so that one bad event fails alone. A non-nil error means the
// batch transaction is in an unknown state.
func (g *groupWriter) appendEvents(ctx context.Context, jobs []*writeJob) error {
	live := make([]*writeJob, 0, len(jobs))
	for _, j := range jobs {
		if j.err = j.ctx.Err(); j.err == nil {
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return nil
	}
	if _, err := g.execCached(ctx, "SAVEPOINT a"); err != nil {
		for _, j := range live {
			j.err = fmt.Errorf("opening savepoint: %w", err)
		}
		return nil
	}
	ierr := g.insertEvents(ctx, live)
	if ierr != nil {
		if _, err := g.execCached(ctx, "ROLLBACK TO a"); err != nil {
			return errors.Join(ierr, fmt.Errorf("rolling back savepoint: %w", err))
		}
	}
	if _, err := g.execCached(ctx, "RELEASE a"); err != nil {
		return fmt.Errorf("releasing savepoint: %w", err)
	}
	if ierr == nil {
		return nil
	}
	g.s.log.Warn("sqlite audit batch insert failed; appending one by one", "err", ierr, "events", len(live))
	for _, j := range live {
		e := j.event
		one := &writeJob{ctx: j.ctx, scope: j.scope, fn: func(tx *Tx) error { return tx.AppendAudit(ctx, e) }}
		var broken bool
		if broken, j.err = g.runJob(ctx, one); broken {
			return j.err
		}
	}
	return nil
}

// auditInsertRows are the row counts of the multi-row audit inserts: a batch
// of n events takes the largest that fit, so that a handful of statement
// shapes serve every batch size from the statement cache.
var auditInsertRows = [...]int{64, 16, 4, 1}

var auditInsertSQL = func() map[int]string {
	m := map[int]string{}
	for _, n := range auditInsertRows {
		m[n] = "INSERT INTO audit_events (seq, " + auditColumns + ") VALUES " + placeholders(n, 1+auditColumnCount)
	}
	return m
}()

// insertEvents gives the jobs' events the next sequence numbers, in order, and
// inserts them. Only the writer goroutine appends to audit_events on SQLite,
// so the numbers cannot be taken concurrently.
func (g *groupWriter) insertEvents(ctx context.Context, jobs []*writeJob) error {
	var last int64
	if err := (jobConn{g}).QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_events").Scan(&last); err != nil {
		return fmt.Errorf("reading the last audit sequence number: %w", err)
	}
	for len(jobs) > 0 {
		n := 1
		for _, rows := range auditInsertRows {
			if rows <= len(jobs) {
				n = rows
				break
			}
		}
		args := make([]any, 0, n*(1+auditColumnCount))
		for _, j := range jobs[:n] {
			if j.scope.Tenant == "" || j.event.TenantID != j.scope.Tenant {
				return fmt.Errorf("store: audit event for tenant %q appended in scope %q", j.event.TenantID, j.scope.Tenant)
			}
			last++
			j.event.Seq = last
			args = append(args, last)
			args = append(args, g.s.auditValues(j.event)...)
		}
		if _, err := (jobConn{g}).ExecContext(ctx, auditInsertSQL[n], args...); err != nil {
			return fmt.Errorf("appending %d audit events: %w", n, err)
		}
		jobs = jobs[n:]
	}
	return nil
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
