package auditstream_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"strongroom.dev/strongroom/auditstream"
	"strongroom.dev/strongroom/internal/testkit"
)

// openBlobSink opens a blob sink on a new folder through file://.
func openBlobSink(t *testing.T) (*auditstream.BlobSink, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := auditstream.OpenBlob(t.Context(), "file://"+dir, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// blobEvents concatenates the sink's objects in name order.
func blobEvents(t *testing.T, s *auditstream.BlobSink) (keys []string, events []auditstream.Event) {
	t.Helper()
	keys, err := s.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		b, err := s.Read(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, parseEvents(b)...)
	}
	return keys, events
}

func eventSeqs(events []auditstream.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

func TestBlobSink(t *testing.T) {
	s, dir := openBlobSink(t)
	if s.Name() != "blob:file://"+dir {
		t.Errorf("Name() = %q", s.Name())
	}
	deliver(t, s, 1, 2)
	deliver(t, s, 3)
	keys, events := blobEvents(t, s)
	if want := []string{s.Key(1, 2), s.Key(3, 3)}; !slices.Equal(keys, want) {
		t.Errorf("objects %q, want %q", keys, want)
	}
	wantSeqs(t, "blob", []int64{1, 2, 3}, eventSeqs(events))

	t.Run("a retried batch is accepted without a second object", func(t *testing.T) {
		deliver(t, s, 1, 2)
		keys, _ := blobEvents(t, s)
		if len(keys) != 2 {
			t.Errorf("objects %q after a retry, want 2", keys)
		}
	})

	t.Run("an object is never overwritten", func(t *testing.T) {
		path := filepath.Join(dir, s.Key(3, 3))
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		other := []auditstream.Event{{ID: "not-the-same", Seq: 3}}
		if err := s.Deliver(t.Context(), other); err == nil {
			t.Error("a different batch under an existing name was accepted")
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("the object changed:\nbefore %q\nafter  %q", before, after)
		}
	})

	t.Run("an empty batch writes nothing", func(t *testing.T) {
		if err := s.Deliver(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if keys, _ := blobEvents(t, s); len(keys) != 2 {
			t.Errorf("objects %q, want 2", keys)
		}
	})
}

func TestOpenBlobRefuses(t *testing.T) {
	for _, u := range []string{
		"",
		"just-a-name",
		"s3://AKIAEXAMPLE:secret@bucket?region=eu-west-1", // credentials belong in the environment
		"ftp://example.com/audit",                         // no such driver
	} {
		if s, err := auditstream.OpenBlob(context.Background(), u, quietLog()); err == nil {
			s.Close()
			t.Errorf("OpenBlob(%q) succeeded", u)
		}
	}
}

// TestBlobSinkStream: the streamer delivers every sealed event to the bucket in
// order, and after a crash that lost the cursor's last advance, delivers the
// rest again (at least once; event IDs tell the copies apart) without
// rewriting any object.
func TestBlobSinkStream(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine)
			e.add(t, 20)
			sink, _ := openBlobSink(t)
			_, stop := e.streamer(t, "first", sink)
			seqs := e.seqs()
			testkit.WaitFor(t, 20*time.Second, func() bool { return e.cursor(t, sink.Name()) == seqs[19] })
			stop()
			keys, events := blobEvents(t, sink)
			wantSeqs(t, "streamed", seqs, eventSeqs(events))

			if _, err := e.raw.ExecContext(t.Context(), "UPDATE audit_stream_cursors SET seq = $1 WHERE sink = $2",
				seqs[9], sink.Name()); err != nil {
				t.Fatal(err)
			}
			e.add(t, 4)
			seqs = e.seqs()
			_, stop = e.streamer(t, "second", sink)
			testkit.WaitFor(t, 20*time.Second, func() bool { return e.cursor(t, sink.Name()) == seqs[23] })
			stop()
			after, events := blobEvents(t, sink)
			for _, k := range keys {
				if !slices.Contains(after, k) {
					t.Errorf("object %s disappeared", k)
				}
			}
			ids := map[string]bool{}
			var once []int64
			for _, ev := range events {
				if !ids[ev.ID] {
					ids[ev.ID] = true
					once = append(once, ev.Seq)
				}
			}
			slices.Sort(once)
			wantSeqs(t, "each event at least once", seqs, once)
		})
	}
}

// TestBlobSinkS3: the same promises against an S3-compatible server: objects
// named by seq range, a retried batch accepted, a different one under an
// existing name refused.
func TestBlobSinkS3(t *testing.T) {
	srv := testkit.NewS3Server(t)
	u := srv.Bucket(t, "audit") + "&prefix=siem/"
	s, err := auditstream.OpenBlob(t.Context(), u, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	deliver(t, s, 1, 2, 3)
	deliver(t, s, 4)
	deliver(t, s, 1, 2, 3) // a retry
	keys, events := blobEvents(t, s)
	if want := []string{s.Key(1, 3), s.Key(4, 4)}; !slices.Equal(keys, want) {
		t.Errorf("objects %q, want %q", keys, want)
	}
	if got, want := srv.Objects(t, "audit"), []string{"siem/" + s.Key(1, 3), "siem/" + s.Key(4, 4)}; !slices.Equal(got, want) {
		t.Errorf("server holds %q, want %q", got, want)
	}
	wantSeqs(t, "s3", []int64{1, 2, 3, 4}, eventSeqs(events))
	if err := s.Deliver(t.Context(), []auditstream.Event{{ID: "other", Seq: 4}}); err == nil {
		t.Error("a different batch under an existing name was accepted")
	}
	if _, events := blobEvents(t, s); len(events) != 4 || events[3].ID != string(rune('a'+4)) {
		t.Errorf("after the refused batch: %+v", events)
	}
}
