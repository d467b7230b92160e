package storetest

import (
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

func mkFile(t testing.TB, s *store.Store, org strongroom.TenantID, r strongroom.Record, name string, size int64) strongroom.File {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	f := strongroom.File{CollectionID: r.CollectionID, RecordID: r.ID, ID: strongroom.FileID(newID()), Name: name,
		ContentType: "text/plain; charset=utf-8", Size: size, SHA256: sum[:], KeyID: 3, CreatedBy: "user:x", CreatedAt: at(5)}
	mustWrite(t, s, store.TenantScope(org), func(tx *store.Tx) error { return tx.CreateFile(t.Context(), &f) })
	return f
}

// testFiles: file metadata round-trips, lists per record, deletes, sums for
// the quota, goes with its record (cascade), and stays in its organization.
func testFiles(t *testing.T, s *store.Store) {
	ctx := t.Context()
	org := mkOrg(t, s, "Acme")
	other := mkOrg(t, s, "Other")
	scope := store.TenantScope(org.ID)
	coll := mkCollection(t, s, org.ID, "tickets")
	r1 := mkRecord(t, s, org.ID, coll.ID, nil, `{"n":1}`)
	r2 := mkRecord(t, s, org.ID, coll.ID, nil, `{"n":2}`)
	a := mkFile(t, s, org.ID, r1, "a.txt", 10)
	b := mkFile(t, s, org.ID, r1, "b.txt", 20)
	c := mkFile(t, s, org.ID, r2, "c.txt", 30)

	t.Run("get and list", func(t *testing.T) {
		var got *strongroom.File
		var list []strongroom.File
		mustRead(t, s, scope, func(tx *store.Tx) error {
			var err error
			if got, err = tx.File(ctx, coll.ID, r1.ID, a.ID); err != nil {
				return err
			}
			list, err = tx.Files(ctx, coll.ID, r1.ID)
			return err
		})
		want := a
		want.TenantID = org.ID
		if d := cmp.Diff(want, *got); d != "" {
			t.Errorf("File (-want +got):\n%s", d)
		}
		if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
			t.Errorf("Files listed %v", list)
		}
	})
	t.Run("a file of another record is not found", func(t *testing.T) {
		err := s.Read(ctx, scope, func(tx *store.Tx) error { _, err := tx.File(ctx, coll.ID, r2.ID, a.ID); return err })
		wantCode(t, err, strongroom.ENOTFOUND)
	})
	t.Run("another organization sees nothing", func(t *testing.T) {
		err := s.Read(ctx, store.TenantScope(other.ID), func(tx *store.Tx) error {
			_, err := tx.File(ctx, coll.ID, r1.ID, a.ID)
			return err
		})
		wantCode(t, err, strongroom.ENOTFOUND)
		var exist map[strongroom.FileID]bool
		mustRead(t, s, store.TenantScope(other.ID), func(tx *store.Tx) error {
			var err error
			exist, err = tx.FilesExist(ctx, []strongroom.FileID{a.ID})
			return err
		})
		if exist[a.ID] {
			t.Error("FilesExist sees another organization's file")
		}
		err = s.Write(ctx, store.TenantScope(other.ID), func(tx *store.Tx) error {
			f := a
			f.ID = strongroom.FileID(newID())
			return tx.CreateFile(ctx, &f)
		})
		wantCode(t, err, strongroom.ENOTFOUND)
	})
	t.Run("usage, paging, exists", func(t *testing.T) {
		var n, bytes int64
		var page []strongroom.File
		var exist map[strongroom.FileID]bool
		mustRead(t, s, scope, func(tx *store.Tx) error {
			var err error
			if n, bytes, err = tx.FileUsage(ctx); err != nil {
				return err
			}
			if page, err = tx.FilesAfter(ctx, a.ID, 1); err != nil {
				return err
			}
			exist, err = tx.FilesExist(ctx, []strongroom.FileID{a.ID, "00000000-0000-7000-8000-000000000000"})
			return err
		})
		if n != 3 || bytes != 60 {
			t.Errorf("FileUsage = %d, %d; want 3, 60", n, bytes)
		}
		if len(page) != 1 || page[0].ID != b.ID {
			t.Errorf("FilesAfter(a, 1) = %v", page)
		}
		if !exist[a.ID] || len(exist) != 2 || exist["00000000-0000-7000-8000-000000000000"] {
			t.Errorf("FilesExist = %v", exist)
		}
	})
	t.Run("exists, over several query chunks", func(t *testing.T) {
		ids := make([]strongroom.FileID, 0, 2500)
		for range 2497 {
			ids = append(ids, strongroom.FileID(newID()))
		}
		ids = slices.Insert(ids, 0, a.ID)
		ids = slices.Insert(ids, 1500, c.ID)
		ids = append(ids, b.ID, "x'); DELETE FROM record_files; --")
		var exist map[strongroom.FileID]bool
		mustRead(t, s, scope, func(tx *store.Tx) error {
			var err error
			exist, err = tx.FilesExist(ctx, ids)
			return err
		})
		if len(exist) != len(ids) {
			t.Fatalf("FilesExist answered for %d of %d IDs", len(exist), len(ids))
		}
		for id, ok := range exist {
			if want := id == a.ID || id == b.ID || id == c.ID; ok != want {
				t.Errorf("FilesExist[%s] = %v, want %v", id, ok, want)
			}
		}
		var none map[strongroom.FileID]bool
		mustRead(t, s, scope, func(tx *store.Tx) error {
			var err error
			none, err = tx.FilesExist(ctx, nil)
			return err
		})
		if len(none) != 0 {
			t.Errorf("FilesExist(nil) = %v", none)
		}
	})
	t.Run("delete", func(t *testing.T) {
		mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.DeleteFile(ctx, coll.ID, r1.ID, b.ID) })
		err := s.Write(ctx, scope, func(tx *store.Tx) error { return tx.DeleteFile(ctx, coll.ID, r1.ID, b.ID) })
		wantCode(t, err, strongroom.ENOTFOUND)
	})
	t.Run("a record's files go with it", func(t *testing.T) {
		mustWrite(t, s, scope, func(tx *store.Tx) error { return tx.DeleteRecord(ctx, coll.ID, r2.ID, r2.Version) })
		err := s.Read(ctx, scope, func(tx *store.Tx) error { _, err := tx.File(ctx, coll.ID, r2.ID, c.ID); return err })
		wantCode(t, err, strongroom.ENOTFOUND)
		err = s.Write(ctx, scope, func(tx *store.Tx) error {
			f := c
			f.ID = strongroom.FileID(newID())
			return tx.CreateFile(ctx, &f)
		})
		wantCode(t, err, strongroom.ENOTFOUND)
	})
}
