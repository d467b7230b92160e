package audit

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/auditlog"
)

// Folder is the checkpoint folder outside the database: one append-only JSON
// Lines file per tenant chain, <tenant>.jsonl, each line a signed checkpoint
// (auditlog.Checkpoint's JSON form). Files are created 0600 in a folder kept
// 0700, and synced to disk before the checkpoint is also stored in the
// database. Someone who controls the database but not this folder cannot
// rewrite a chain without verify noticing; keep it on storage the database's
// administrators cannot write (another host's mount, a WORM bucket the files
// are shipped to).
type Folder struct {
	dir string
	mu  sync.Mutex // one append at a time in this process
}

// OpenFolder returns the folder at dir, creating it (0700) if needed and
// restricting it to 0700.
func OpenFolder(dir string) (*Folder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating checkpoint folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restricting checkpoint folder: %w", err)
	}
	return &Folder{dir: dir}, nil
}

// ReadFolder returns the folder at dir for reading, without creating it.
func ReadFolder(dir string) *Folder { return &Folder{dir: dir} }

// Dir is the folder's path.
func (f *Folder) Dir() string { return f.dir }

var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$`)

// fileName maps a tenant to its file: the tenant ID itself when it is a safe
// file name (UUIDs and the platform tenant are), else "x-" and its hex.
func fileName(t strongroom.TenantID) string {
	s := string(t)
	if plainName.MatchString(s) && !strings.HasPrefix(s, "x-") {
		return s + ".jsonl"
	}
	return "x-" + hex.EncodeToString([]byte(s)) + ".jsonl"
}

func tenantOfFile(name string) (strongroom.TenantID, bool) {
	base, ok := strings.CutSuffix(name, ".jsonl")
	if !ok {
		return "", false
	}
	if h, ok := strings.CutPrefix(base, "x-"); ok {
		b, err := hex.DecodeString(h)
		return strongroom.TenantID(b), err == nil && fileName(strongroom.TenantID(b)) == name
	}
	return strongroom.TenantID(base), plainName.MatchString(base)
}

// Append adds a checkpoint to its tenant's file and syncs it to disk.
func (f *Folder) Append(c auditlog.Checkpoint) error {
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path := filepath.Join(f.dir, fileName(c.Tenant))
	_, statErr := os.Stat(path)
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening checkpoint file: %w", err)
	}
	if _, err := file.Write(append(line, '\n')); err != nil {
		file.Close()
		return fmt.Errorf("writing checkpoint file: %w", err)
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return fmt.Errorf("syncing checkpoint file: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("closing checkpoint file: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// A new file's name is durable only once its folder is synced.
		if d, err := os.Open(f.dir); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	return nil
}

// Tenants lists the tenants that have a checkpoint file.
func (f *Folder) Tenants() ([]strongroom.TenantID, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint folder: %w", err)
	}
	var out []strongroom.TenantID
	for _, e := range entries {
		if t, ok := tenantOfFile(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// FileCheckpoint is a checkpoint read from a file, with where it was.
type FileCheckpoint struct {
	auditlog.Checkpoint
	Source string // file:line
}

// maxLine bounds a line of a checkpoint file; a checkpoint is a few hundred
// bytes.
const maxLine = 64 << 10

// Read returns a tenant's checkpoints from its file (none if the file does not
// exist) and a problem for every line that is not a checkpoint of that tenant.
func (f *Folder) Read(t strongroom.TenantID) ([]FileCheckpoint, []*auditlog.Problem, error) {
	path := filepath.Join(f.dir, fileName(t))
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening checkpoint file: %w", err)
	}
	defer file.Close()
	var out []FileCheckpoint
	var problems []*auditlog.Problem
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		src := fmt.Sprintf("%s:%d", path, n)
		var c auditlog.Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			problems = append(problems, &auditlog.Problem{Tenant: t, Kind: auditlog.ProblemSignature,
				Detail: fmt.Sprintf("%s is not a checkpoint: %v", src, err)})
			continue
		}
		if c.Tenant != t {
			problems = append(problems, &auditlog.Problem{Tenant: t, Seq: c.Seq, Kind: auditlog.ProblemSignature,
				Detail: fmt.Sprintf("%s is a checkpoint of tenant %q", src, c.Tenant)})
			continue
		}
		out = append(out, FileCheckpoint{Checkpoint: c, Source: "checkpoint " + src})
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, &auditlog.Problem{Tenant: t, Kind: auditlog.ProblemRead,
			Detail: fmt.Sprintf("%s after line %d: %v", path, n, err)})
	}
	return out, problems, nil
}
