package backup

import (
	"context"
	"time"
)

// Progress is how far a backup has come: its phase, and the rows and
// plaintext bytes written to the archive so far.
type Progress struct {
	Phase string
	Rows  int64
	Bytes int64
	// BytesTotal is what Bytes grows to in this phase when the backup knows
	// it (the database file of the sqlite-file layout); 0 when unknown.
	BytesTotal int64
}

// ProgressFunc receives a running backup's progress, from one goroutine of
// the backup at a time (never from two at once): at each phase (each table) and at most about once per
// ProgressEvery within one, never per row. It must return quickly; it cannot
// stop the backup (cancel the context for that).
type ProgressFunc func(Progress)

// ProgressEvery is how often a backup reports progress within a phase.
const ProgressEvery = time.Second

// WithProgress returns a context under which Write (and Location.Put) report
// their progress to fn.
func WithProgress(ctx context.Context, fn ProgressFunc) context.Context {
	if fn == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, &progress{fn: fn, now: time.Now})
}

type progressKey struct{}

// progress throttles the reports of one backup. Its methods do nothing on a
// nil progress (no ProgressFunc).
type progress struct {
	fn   ProgressFunc
	now  func() time.Time
	cur  Progress
	last time.Time
	tick int
}

func progressFrom(ctx context.Context) *progress {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p
}

// phase reports the start of a phase at once.
func (p *progress) phase(name string) {
	if p == nil {
		return
	}
	p.cur.Phase = name
	p.report()
}

// row counts a row of n plaintext bytes, and reports when ProgressEvery has
// passed (the clock is read every 256 rows).
func (p *progress) row(n int) {
	if p == nil {
		return
	}
	p.cur.Rows++
	p.cur.Bytes += int64(n)
	if p.tick++; p.tick&255 != 0 {
		return
	}
	if p.now().Sub(p.last) >= ProgressEvery {
		p.report()
	}
}

// fileBytes reports n of total bytes of a database file copied, at most
// every ProgressEvery (the clock is read every 16 calls, a MiB each).
func (p *progress) fileBytes(n, total int64) {
	if p == nil {
		return
	}
	p.cur.Bytes, p.cur.BytesTotal = n, total
	if p.tick++; p.tick&15 != 0 && n < total {
		return
	}
	if n >= total || p.now().Sub(p.last) >= ProgressEvery {
		p.report()
	}
}

// rowsDone reports that the archive holds all rows, n of them, as a
// sqlite-file archive does once its file is written; the phase that follows
// counts no bytes of a known total.
func (p *progress) rowsDone(n int64) {
	if p == nil {
		return
	}
	p.cur.Rows, p.cur.BytesTotal = n, 0
}

func (p *progress) report() {
	p.last = p.now()
	p.fn(p.cur)
}
