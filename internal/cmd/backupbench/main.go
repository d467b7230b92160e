// Command backupbench measures backup and restore throughput as a ratio to
// copying the same database files on the same machine in the same run, the
// way DESIGN.md states the target ("backup and restore run within 2× of the
// disk's sequential bandwidth", i.e. a ratio of at least 0.5).
//
// It builds an embedded (SQLite) store of at least -size MiB in a temporary
// folder (records with random, incompressible payloads, as encrypted records
// are, with their index terms) and, with -files, a blob folder of at least
// that many MiB of files (random content, as sealed blobs are, of sizes
// spread evenly on a log scale from 16 KiB to 4 MiB, each a record_files row
// of a record), then measures, back to back:
//
//   - copy: reading the database files and the blob folder and writing a
//     copy, each file fsync'd;
//   - backup: Location.Put of the store and its blobs into a folder, as
//     `strongroom backup --to DIR` does (the archive hashed for its index),
//     fsync'd, in each
//     layout of -layouts: sqlite-file (the database file's pages read in a
//     snapshot, zstd, age) and logical (snapshot, encode rows, zstd, age);
//   - restore: backup.Restore of that file into a fresh store and an empty
//     blob folder (sqlite-file: the file written beside the database,
//     checked, synced and renamed into place; logical: a new file built from
//     the rows, synced and renamed; each blob written and synced).
//
// Ratios are throughput relative to the copy measured in the same round
// (bytes of the database files and blobs divided by the time), so the machine's speed
// cancels out. Each step writes into a folder whose previous contents were
// removed just before (untimed), after a warm-up round, so that every step
// meets the page cache the way the copy does (see the loop in run). Everything is bounded by -deadline; the temporary folder is
// removed at the end.
//
// Usage:
//
//	go run ./internal/cmd/backupbench [-size 1024] [-files 0] [-rounds 2] [-layouts sqlite-file,logical] [-dir /tmp] [-deadline 30m]
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/store"
)

func main() {
	size := flag.Int("size", 1024, "size of the generated store's database files in MiB (at least)")
	files := flag.Int("files", 0, "size of the generated store's files (blobs) in MiB (at least)")
	rounds := flag.Int("rounds", 2, "measurement rounds (copy, backup, copy, restore each), after one warm-up round that is not reported")
	dir := flag.String("dir", "", "folder for the temporary files (default: the system's)")
	deadline := flag.Duration("deadline", 30*time.Minute, "stop after this long")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write CPU profiles of the last backup and the last restore to this file name with .backup and .restore appended")
	layouts := flag.String("layouts", "sqlite-file,logical", "archive layouts to measure, separated by commas")
	flag.Parse()
	for _, l := range strings.Split(*layouts, ",") {
		benchLayouts = append(benchLayouts, backup.Layout(strings.TrimSpace(l)))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *deadline)
	defer cancel()
	if err := run(ctx, *size, *files, *rounds, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "backupbench:", err)
		os.Exit(1)
	}
}

var (
	cpuProfile   string
	benchLayouts []backup.Layout
)

// blobFolder is the blob folder's name in a data folder.
const blobFolder = "blobs"

func run(ctx context.Context, sizeMiB, filesMiB, rounds int, dir string) error {
	if cpuProfile != "" {
		for _, p := range []struct {
			f    **os.File
			name string
		}{{&backupProfile, cpuProfile + ".backup"}, {&restoreProfile, cpuProfile + ".restore"}} {
			f, err := os.Create(p.name)
			if err != nil {
				return err
			}
			defer f.Close()
			*p.f = f
		}
	}
	tmp, err := os.MkdirTemp(dir, "backupbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	log := slog.New(slog.DiscardHandler)
	srcDir := filepath.Join(tmp, "src")
	if err := os.Mkdir(srcDir, 0o700); err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(srcDir, "strongroom.db"), Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	blobs, err := blob.Open(ctx, filepath.Join(srcDir, blobFolder))
	if err != nil {
		return err
	}
	defer blobs.Close()
	fmt.Printf("generating a store of at least %d MiB and %d MiB of files in %s …\n", sizeMiB, filesMiB, tmp)
	start := time.Now()
	rows, recs, err := generate(ctx, st, srcDir, int64(sizeMiB)<<20)
	if err != nil {
		return err
	}
	nfiles, err := generateFiles(ctx, st, blobs, recs, int64(filesMiB)<<20)
	if err != nil {
		return err
	}
	// The copy copies every file of the data folder (the database and its
	// WAL, which SQLite checkpoints as it goes, and the blob folder), the
	// keyring aside.
	dataBytes, err := filesSize(srcDir)
	if err != nil {
		return err
	}
	blobBytes, err := filesSize(filepath.Join(srcDir, blobFolder))
	if err != nil {
		return err
	}
	fmt.Printf("generated %d records, %d files, %.0f MiB of database files and %.0f MiB of blobs in %s\n", rows, nfiles,
		mib(dataBytes-blobBytes), mib(blobBytes), time.Since(start).Round(time.Second))

	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	fmt.Printf("\n| round | layout | copy MiB/s | backup MiB/s | backup ratio | backup cores | restore MiB/s | restore ratio | restore cores | archive MiB |\n|---|---|---|---|---|---|---|---|---|---|\n")
	// Round 0 is a warm-up, not reported: from round 1 on, every timed step
	// writes right after its own output of the round before was removed, as
	// the copy always does. On a virtual machine, page cache that was just
	// freed is reused at once, while pages the guest has not touched lately
	// first cost the host a fault each: writing a GiB into such pages was
	// measured here taking 0.9-2.6 s against 0.2 s (docs/benchmarks.md), so
	// a step writing into fresh memory would be compared unfairly with a copy
	// writing into recycled memory.
	for r := 0; r <= rounds; r++ {
		for _, layout := range benchLayouts {
			copyDir, backupDir, restoreDir := filepath.Join(tmp, "copy"), filepath.Join(tmp, "backups-"+string(layout)), filepath.Join(tmp, "restored-"+string(layout))
			c1, err := timeAfterRemoving(copyDir, func() error { return copyFiles(srcDir, copyDir) })
			if err != nil {
				return err
			}
			var archive string
			tb, cb, err := timeCPUAfterRemoving(backupDir, func() error {
				return profiled(backupProfile, func() error {
					var err error
					archive, err = writeBackup(ctx, st, blobs, backupDir, id.Recipient(), layout)
					return err
				})
			})
			if err != nil {
				return fmt.Errorf("%s backup: %w", layout, err)
			}
			c2, err := timeAfterRemoving(copyDir, func() error { return copyFiles(srcDir, copyDir) })
			if err != nil {
				return err
			}
			tr, cr, err := timeCPUAfterRemoving(restoreDir, func() error {
				return profiled(restoreProfile, func() error { return restore(ctx, archive, restoreDir, id, log) })
			})
			if err != nil {
				return fmt.Errorf("%s restore: %w", layout, err)
			}
			if r == 0 {
				continue
			}
			fi, err := os.Stat(archive)
			if err != nil {
				return err
			}
			tc := (c1 + c2) / 2
			fmt.Printf("| %d | %s | %.0f | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.0f |\n", r, layout, rate(dataBytes, tc), rate(dataBytes, tb), tc.Seconds()/tb.Seconds(), cb.Seconds()/tb.Seconds(),
				rate(dataBytes, tr), tc.Seconds()/tr.Seconds(), cr.Seconds()/tr.Seconds(), mib(fi.Size()))
		}
	}
	fmt.Printf("\nratios are throughput over the database files' and blobs' size relative to copying those files (fsync'd), mean of the copies before and after the backup of the same round; cores is the process's CPU time (user and system) over the wall-clock time\n")
	return nil
}

var backupProfile, restoreProfile *os.File

// profiled runs fn under the CPU profiler when -cpuprofile is set (the
// profile of the last call is kept).
func profiled(profiling *os.File, fn func() error) error {
	if profiling == nil {
		return fn()
	}
	if err := profiling.Truncate(0); err != nil {
		return err
	}
	if _, err := profiling.Seek(0, 0); err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(profiling); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return fn()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func rate(n int64, d time.Duration) float64 { return mib(n) / d.Seconds() }

// timeAfterRemoving removes dir (untimed) and times fn.
func timeAfterRemoving(dir string, fn func() error) (time.Duration, error) {
	d, _, err := timeCPUAfterRemoving(dir, fn)
	return d, err
}

// timeCPUAfterRemoving removes dir (untimed) and returns timeCPU of fn.
func timeCPUAfterRemoving(dir string, fn func() error) (wall, cpu time.Duration, err error) {
	if err := os.RemoveAll(dir); err != nil {
		return 0, 0, err
	}
	return timeCPU(fn)
}

// timeCPU runs fn and returns the wall-clock time it took and the CPU time
// (user and system, every thread of the process) it used.
func timeCPU(fn func() error) (wall, cpu time.Duration, err error) {
	c0 := cpuTime()
	start := time.Now()
	err = fn()
	return time.Since(start), cpuTime() - c0, err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// generate writes records of 4 KiB random payloads, 1,000 per transaction,
// into one organization and collection until the files reach want bytes. It
// returns the number of records and the last transaction's.
func generate(ctx context.Context, st *store.Store, dir string, want int64) (int64, []strongroom.Record, error) {
	org := strongroom.Organization{ID: strongroom.TenantID(uuid.Must(uuid.NewV7()).String()), Name: "bench", CreatedAt: time.Now().UTC()}
	scope := store.TenantScope(org.ID)
	coll := strongroom.Collection{ID: strongroom.CollectionID(uuid.Must(uuid.NewV7()).String()), Name: "bench", Schema: []byte(`{}`),
		Searchable: []string{"email"}, CreatedAt: org.CreatedAt}
	if err := st.Write(ctx, scope, func(tx *store.Tx) error {
		if err := tx.CreateOrganization(ctx, &org); err != nil {
			return err
		}
		return tx.CreateCollection(ctx, &coll)
	}); err != nil {
		return 0, nil, err
	}
	var (
		n     int64
		batch []strongroom.Record
	)
	for {
		size, err := filesSize(dir)
		if err != nil {
			return n, batch, err
		}
		if size >= want {
			return n, batch, nil
		}
		if err := ctx.Err(); err != nil {
			return n, batch, err
		}
		batch = batch[:0]
		err = st.Write(ctx, scope, func(tx *store.Tx) error {
			for range 1000 {
				data := make([]byte, 4096)
				_, _ = rand.Read(data)
				term := make([]byte, 32)
				_, _ = rand.Read(term)
				now := time.Now().UTC()
				r := strongroom.Record{TenantID: org.ID, CollectionID: coll.ID, ID: strongroom.RecordID(uuid.Must(uuid.NewV7()).String()), Version: 1, Data: data, CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateRecord(ctx, &r, []store.Term{{Field: "email", Term: term}}); err != nil {
					return err
				}
				batch = append(batch, r)
			}
			return nil
		})
		if err != nil {
			return n, batch, err
		}
		n += 1000
	}
}

// generateFiles attaches files to the records recs (in turn) until their
// blobs reach want bytes: random content of sizes spread evenly on a log
// scale from 16 KiB to 4 MiB, written to blobs as the file service writes a
// sealed blob (synced), each followed by its record_files row. It returns
// the number of files.
func generateFiles(ctx context.Context, st *store.Store, blobs *blob.Store, recs []strongroom.Record, want int64) (int, error) {
	if want <= 0 {
		return 0, nil
	}
	if len(recs) == 0 {
		return 0, errors.New("no records to attach files to")
	}
	buf := make([]byte, 4<<20)
	var total int64
	n := 0
	for ; total < want; n++ {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		size := int(math.Exp(math.Log(16<<10) + mrand.Float64()*math.Log(256)))
		data := buf[:size]
		_, _ = rand.Read(data)
		rec := recs[n%len(recs)]
		scope := store.TenantScope(rec.TenantID)
		f := strongroom.File{CollectionID: rec.CollectionID, RecordID: rec.ID, ID: strongroom.FileID(uuid.Must(uuid.NewV7()).String()),
			Name: fmt.Sprintf("file-%d.bin", n), ContentType: "application/octet-stream", Size: int64(size), SHA256: make([]byte, 32),
			KeyID: 1, CreatedBy: "bench", CreatedAt: time.Now().UTC()}
		w, err := blobs.NewWriter(ctx, blob.FileKey(string(rec.TenantID), string(f.ID)))
		if err != nil {
			return n, err
		}
		if _, err := w.Write(data); err != nil {
			w.Close()
			return n, err
		}
		if err := w.Close(); err != nil {
			return n, err
		}
		if err := st.Write(ctx, scope, func(tx *store.Tx) error { return tx.CreateFile(ctx, &f) }); err != nil {
			return n, err
		}
		total += int64(size)
	}
	return n, nil
}

// filesSize is the size of the files under dir, the keyring's aside.
func filesSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || isKeyring(e.Name()) {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		return nil
	})
	return n, err
}

func isKeyring(name string) bool { return strings.HasPrefix(name, "keyring.db") }

// copyFiles copies the database files and the blob folder of src into the
// new folder dst, each file fsync'd.
func copyFiles(src, dst string) error {
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil || isKeyring(e.Name()) {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if e.IsDir() {
			return os.Mkdir(filepath.Join(dst, rel), 0o700)
		}
		return copyFile(path, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return errors.Join(out.Sync(), out.Close())
}

// writeBackup backs st and its blobs up into a folder location the way
// `strongroom backup --to DIR` does (Location.Put: the archive hashed for its
// index, then the index) and syncs the archive to disk, as the copy is. It
// returns the archive's path.
func writeBackup(ctx context.Context, st *store.Store, blobs *blob.Store, dir string, r age.Recipient, layout backup.Layout) (string, error) {
	loc, err := backup.OpenLocation(ctx, dir)
	if err != nil {
		return "", err
	}
	defer loc.Close()
	loc.Layout = layout
	idx, err := loc.Put(ctx, st, blobs, []age.Recipient{r}, time.Now())
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, idx.Name)
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	return path, errors.Join(f.Sync(), f.Close())
}

// restore restores archive into a new store and blob folder in dir.
func restore(ctx context.Context, archive, dir string, id age.Identity, log *slog.Logger) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "strongroom.db"), Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := blob.Open(ctx, filepath.Join(dir, blobFolder))
	if err != nil {
		return err
	}
	defer blobs.Close()
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = backup.Restore(ctx, st, blobs, f, []age.Identity{id})
	return err
}
