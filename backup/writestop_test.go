package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/store"
)

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	n, limit int
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errDiskFull
	}
	w.n += len(p)
	return len(p), nil
}

// TestWriteStops: a backup whose destination fails, or whose context ends,
// while it runs returns the error instead of hanging or reporting a backup
// taken, on both engines (the pipeline's buffers may hold all of these 3 MiB,
// so the reading may be done when the error comes); the same store backs up
// fine afterwards.
func TestWriteStops(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, engine)
			org := strongroom.Organization{ID: strongroom.TenantID(newID()), Name: "big", CreatedAt: created}
			scope := store.TenantScope(org.ID)
			coll := strongroom.Collection{ID: strongroom.CollectionID(newID()), Name: "c", Schema: []byte(`{}`), CreatedAt: created}
			write(t, st, scope, func(ctx context.Context, tx *store.Tx) error {
				if err := tx.CreateOrganization(ctx, &org); err != nil {
					return err
				}
				if err := tx.CreateCollection(ctx, &coll); err != nil {
					return err
				}
				// 3 MiB of incompressible records: the failures come mid-read.
				for range 768 {
					data := make([]byte, 4096)
					_, _ = rand.Read(data)
					r := strongroom.Record{CollectionID: coll.ID, ID: strongroom.RecordID(newID()), Version: 1, Data: data, CreatedAt: created, UpdatedAt: created}
					if err := tx.CreateRecord(ctx, &r, nil); err != nil {
						return err
					}
				}
				return nil
			})
			id := newIdentity(t)
			recipients := []age.Recipient{id.Recipient()}

			done := make(chan error, 1)
			go func() {
				_, err := backup.Write(ctx, st, nil, &failingWriter{limit: 256 << 10}, recipients, created)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, errDiskFull) {
					t.Errorf("backup to a failing destination: %v, want its error", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("a backup to a failing destination did not return")
			}

			cctx, cancel := context.WithCancel(ctx)
			cancelling := &cancelAfter{limit: 512 << 10, cancel: cancel}
			go func() {
				_, err := backup.Write(cctx, st, nil, cancelling, recipients, created)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("backup with its context cancelled: %v, want context.Canceled", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("a cancelled backup did not return")
			}

			var b bytes.Buffer
			m, err := backup.Write(ctx, st, nil, &b, recipients, created)
			if err != nil {
				t.Fatalf("backup after the failures: %v", err)
			}
			if m.Rows() < 768 {
				t.Errorf("backup of %d rows", m.Rows())
			}
			dst := openStore(t, engine)
			if _, err := backup.Restore(ctx, dst, nil, &b, []age.Identity{id}); err != nil {
				t.Fatalf("restore: %v", err)
			}
			sum, err := backup.Summarize(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			if err := backup.SameData(m, sum); err != nil {
				t.Errorf("restored store differs from its backup: %v", err)
			}
		})
	}
}

// cancelAfter cancels its context once limit bytes were written, and keeps
// accepting bytes (so the error comes from the cancelled read).
type cancelAfter struct {
	n, limit int
	cancel   context.CancelFunc
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n > w.limit {
		w.cancel()
	}
	return len(p), nil
}
