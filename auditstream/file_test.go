package auditstream_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"strongroom.dev/strongroom/auditstream"
)

func openFileSink(t *testing.T, path string) *auditstream.FileSink {
	t.Helper()
	f, err := auditstream.OpenFile(path, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func deliver(t *testing.T, s auditstream.Sink, seqs ...int64) {
	t.Helper()
	var events []auditstream.Event
	for _, n := range seqs {
		events = append(events, auditstream.Event{ID: string(rune('a' + n)), Seq: n, Metadata: json.RawMessage("{}")})
	}
	if err := s.Deliver(t.Context(), events); err != nil {
		t.Fatal(err)
	}
}

// readLines returns the seqs of the file's lines that are events, and the
// lines that are not.
func readLines(t *testing.T, path string) (seqs []int64, bad []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e auditstream.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			bad = append(bad, sc.Text())
			continue
		}
		seqs = append(seqs, e.Seq)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return seqs, bad
}

func TestFileSink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	path := filepath.Join(dir, "stream.jsonl")
	s := openFileSink(t, path)
	if s.Name() != "file:"+path {
		t.Errorf("Name() = %q, want file:%s", s.Name(), path)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %o", p, fi.Mode().Perm(), err, want)
		}
	}
	deliver(t, s, 1, 2)
	deliver(t, s, 3)
	seqs, bad := readLines(t, path)
	wantSeqs(t, "file", []int64{1, 2, 3}, seqs)
	if len(bad) > 0 {
		t.Errorf("lines that are not events: %q", bad)
	}

	t.Run("a partial last line is ended, never rewritten", func(t *testing.T) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		partial := `{"id":"e","seq":4,"ten` // a crash in the middle of a batch
		if _, err := f.WriteString(partial); err != nil {
			t.Fatal(err)
		}
		f.Close()
		before, _ := os.ReadFile(path)
		s := openFileSink(t, path) // the restarted server
		deliver(t, s, 4, 5)
		after, _ := os.ReadFile(path)
		if !bytes.HasPrefix(after, before) {
			t.Fatalf("the file was changed, not appended to:\nbefore %q\nafter  %q", before, after)
		}
		seqs, bad := readLines(t, path)
		wantSeqs(t, "file", []int64{1, 2, 3, 4, 5}, seqs)
		if len(bad) != 1 || bad[0] != partial {
			t.Errorf("lines that are not events: %q, want only the partial line", bad)
		}
	})

	t.Run("a rotated file is followed by a new one", func(t *testing.T) {
		rotated := path + ".1"
		if err := os.Rename(path, rotated); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(rotated)
		deliver(t, s, 6)
		if after, _ := os.ReadFile(rotated); !bytes.Equal(before, after) {
			t.Error("the rotated file changed")
		}
		seqs, _ := readLines(t, path)
		wantSeqs(t, "new file", []int64{6}, seqs)
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("new file: %v, %v; want mode 600", fi.Mode().Perm(), err)
		}
	})

	t.Run("a file others may write is refused", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "open.jsonl")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o622); err != nil {
			t.Fatal(err)
		}
		if f, err := auditstream.OpenFile(p, quietLog()); err == nil {
			f.Close()
			t.Error("OpenFile accepted a file of mode 622")
		}
	})
}
