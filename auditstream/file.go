package auditstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// FileSink appends events to a JSON Lines file, one Event per line, and syncs
// the file to disk after each batch. The file is only ever appended to: it is
// created 0600 (in a folder created 0700 if missing), never truncated or
// rewritten, and a file that group or others may write is refused.
//
// A crash, or a failed write, can leave a partial last line. Before each batch
// the sink checks that the file ends with a newline and, if not, appends one:
// the partial line stays as it is, a line that is not valid JSON which readers
// skip, and its events were not acknowledged, so they follow in full. A file
// renamed away (log rotation) is noticed before each batch and a new one is
// created at the path.
type FileSink struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex // one batch at a time
	f    *os.File
}

// OpenFile opens (creating it if needed) the file sink at path.
func OpenFile(path string, log *slog.Logger) (*FileSink, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("audit file sink: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &FileSink{path: abs, log: log}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// Name is "file:" and the file's absolute path.
func (s *FileSink) Name() string { return "file:" + s.path }

// open opens the file at the path for appending, creating it and its folder.
func (s *FileSink) open() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("audit file sink: creating its folder: %w", err)
	}
	_, statErr := os.Lstat(s.path)
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit file sink: %w", err)
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return fmt.Errorf("audit file sink: %w", err)
	case !fi.Mode().IsRegular():
		f.Close()
		return fmt.Errorf("audit file sink: %s is not a regular file", s.path)
	case fi.Mode().Perm()&0o022 != 0:
		f.Close()
		return fmt.Errorf("audit file sink: %s is writable by group or others (mode %o): chmod go-w", s.path, fi.Mode().Perm())
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// A new file's name is durable only once its folder is synced.
		if d, err := os.Open(filepath.Dir(s.path)); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	s.f = f
	return nil
}

// Deliver appends one line per event and syncs the file.
func (s *FileSink) Deliver(_ context.Context, events []Event) error {
	var buf []byte
	for i := range events {
		line, err := json.Marshal(&events[i])
		if err != nil {
			return fmt.Errorf("encoding audit event %d: %w", events[i].Seq, err)
		}
		buf = append(append(buf, line...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reopenIfMoved(); err != nil {
		return err
	}
	if err := s.endLine(); err != nil {
		return err
	}
	if _, err := s.f.Write(buf); err != nil {
		return fmt.Errorf("audit file sink: writing %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("audit file sink: syncing %s: %w", s.path, err)
	}
	return nil
}

// reopenIfMoved opens the file at the path again if the open one is no longer
// there (renamed or removed by log rotation), or was never opened.
func (s *FileSink) reopenIfMoved() error {
	if s.f != nil {
		cur, err1 := s.f.Stat()
		now, err2 := os.Stat(s.path)
		if err1 == nil && err2 == nil && os.SameFile(cur, now) {
			return nil
		}
		s.f.Close()
		s.f = nil
		s.log.Info("audit file sink: the file was moved; starting a new one", "path", s.path)
	}
	return s.open()
}

// endLine appends a newline if the file does not end with one: a partial line
// left by a crash or a failed write is closed off, never rewritten.
func (s *FileSink) endLine() error {
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("audit file sink: %w", err)
	}
	if fi.Size() == 0 {
		return nil
	}
	var last [1]byte
	if _, err := s.f.ReadAt(last[:], fi.Size()-1); err != nil {
		return fmt.Errorf("audit file sink: reading %s: %w", s.path, err)
	}
	if last[0] == '\n' {
		return nil
	}
	s.log.Warn("audit file sink: the last line is incomplete (a crash or a failed write); ending it, and writing its events again in full",
		"path", s.path)
	if _, err := s.f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("audit file sink: writing %s: %w", s.path, err)
	}
	return nil
}

// Close closes the file.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
