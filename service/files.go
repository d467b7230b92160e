package service

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/blob"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

// FilesConfig configures files attached to records (docs/files.md).
type FilesConfig struct {
	// Blobs holds the sealed content; nil turns files off (every file call
	// answers EUNAVAILABLE).
	Blobs *blob.Store
	// MaxBytes is the largest file accepted; default DefaultFileMaxBytes.
	MaxBytes int64
	// OrgQuotaBytes caps the total size of an organization's files; 0: no cap.
	OrgQuotaBytes int64
}

// DefaultFileMaxBytes is the default size limit of one file (25 MiB).
const DefaultFileMaxBytes = 25 << 20

// MaxFileNameBytes is the longest file name kept, in bytes of UTF-8.
const MaxFileNameBytes = 255

func (c FilesConfig) withDefaults() FilesConfig {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultFileMaxBytes
	}
	return c
}

// FileMaxBytes is the size limit of one file, for handlers that cap bodies.
func (s *Service) FileMaxBytes() int64 { return s.files.MaxBytes }

// fileAD binds a file's sealed content to its tenant, table and row (record
// and file): a blob copied under another file, record or tenant does not
// open there.
func fileAD(t strongroom.TenantID, c strongroom.CollectionID, r strongroom.RecordID, id strongroom.FileID) envelope.AD {
	return envelope.AD{Tenant: string(t), Table: "record_files", Row: string(c) + "/" + string(r) + "/" + string(id), Field: "content"}
}

// blobKey names a file's blob: the tenant, then the file ID (fresh for every
// upload, so an upload never overwrites anything).
func blobKey(t strongroom.TenantID, id strongroom.FileID) string {
	return blob.FileKey(string(t), string(id))
}

// SanitizeFileName returns the name a file is kept under: the last element of
// a path (either separator), NFC-normalized, without control or formatting
// characters (bidirectional overrides among them), without the characters
// Windows refuses in names, without leading and trailing spaces and dots, and
// at most MaxFileNameBytes long (the extension kept when it is short). ok is
// false when nothing usable remains.
func SanitizeFileName(name string) (string, bool) {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = norm.NFC.String(name)
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '\t':
			b.WriteRune(' ')
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.Trim(b.String(), " .")
	if name == "" {
		return "", false
	}
	if len(name) > MaxFileNameBytes {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
			ext = name[i:]
		}
		stem := name[:MaxFileNameBytes-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		name = strings.TrimRight(stem, " .") + ext
	}
	return name, true
}

// fileRecord reads the record a file call is about, if the principal may
// see it (restricted records and other clients' records are not found).
func (s *Service) fileRecord(ctx context.Context, org strongroom.TenantID, perm access.Permission, coll string, rec strongroom.RecordID) (*collection, error) {
	if err := s.Authorize(ctx, perm, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if s.files.Blobs == nil {
		return nil, strongroom.Errorf(strongroom.EUNAVAILABLE, "files are not configured")
	}
	c, err := s.collection(ctx, org, coll)
	if err != nil {
		return nil, err
	}
	if !ValidID(string(rec)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "record not found")
	}
	vis := strongroom.PrincipalFrom(ctx).Visibility()
	err = s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		_, err := tx.Record(ctx, c.ID, rec, vis)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// UploadFile stores body as a new file of a record: the content is sealed
// as a stream under the tenant's current data key into a new blob, then the
// metadata row is committed with its audit event. Memory stays bounded
// whatever the size. A body over the limit is ETOOLARGE and leaves nothing
// behind (the blob write is abandoned). If the commit fails after the blob
// was written, the blob is deleted, or, if that fails too, left to the
// orphan sweeper.
func (s *Service) UploadFile(ctx context.Context, org strongroom.TenantID, coll string, rec strongroom.RecordID, name string, body io.Reader) (*strongroom.File, error) {
	c, err := s.fileRecord(ctx, org, access.RecordsWrite, coll, rec)
	if err != nil {
		return nil, err
	}
	clean, ok := SanitizeFileName(name)
	if !ok {
		return nil, validation("/name", "a file needs a name")
	}
	if s.files.OrgQuotaBytes > 0 {
		var used int64
		if err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
			var err error
			_, used, err = tx.FileUsage(ctx)
			return err
		}); err != nil {
			return nil, err
		}
		if used >= s.files.OrgQuotaBytes {
			return nil, strongroom.Errorf(strongroom.ETOOLARGE, "the organization's file quota is used up")
		}
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	f := &strongroom.File{CollectionID: c.ID, RecordID: rec, ID: strongroom.FileID(id), Name: clean,
		KeyID: keys.Current.ID(), CreatedBy: actorID(ctx), CreatedAt: s.clock()}
	key := blobKey(org, f.ID)
	if err := s.writeBlob(ctx, keys, key, f, body); err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if _, err := tx.Record(ctx, c.ID, rec, strongroom.PrincipalFrom(ctx).Visibility()); err != nil {
			return err
		}
		if s.files.OrgQuotaBytes > 0 {
			// Under the organization's quota lock, so that concurrent
			// uploads are counted one after the other.
			if err := tx.LockFileUsage(ctx); err != nil {
				return err
			}
			_, used, err := tx.FileUsage(ctx)
			if err != nil {
				return err
			}
			if used+f.Size > s.files.OrgQuotaBytes {
				return strongroom.Errorf(strongroom.ETOOLARGE, "the file would exceed the organization's file quota")
			}
		}
		if err := tx.CreateFile(ctx, f); err != nil {
			return err
		}
		return audit(ctx, tx, "file.create", "file", id, map[string]any{"collection": c.Name, "record": string(rec), "size": f.Size})
	})
	if err != nil {
		if derr := s.files.Blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.log.Warn("deleting the blob of a file not created; the orphan sweeper will", "file", id, "err", derr)
		}
		return nil, err
	}
	f.TenantID = org
	return f, nil
}

// writeBlob seals body into a new blob named key, filling in f's size,
// SHA-256 and sniffed content type. On any failure the blob is abandoned.
func (s *Service) writeBlob(ctx context.Context, keys *keyring.TenantKeys, key string, f *strongroom.File, body io.Reader) (err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bw, err := s.files.Blobs.NewWriter(wctx, key)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			cancel()
			_ = bw.Close() // abandons the write: the context is cancelled
		}
	}()
	ew, err := envelope.NewWriter(bw, keys.Current, fileAD(keys.Tenant, f.CollectionID, f.RecordID, f.ID), s.rand)
	if err != nil {
		return fmt.Errorf("sealing file: %w", err)
	}
	h := sha256.New()
	head := make([]byte, 512)
	n, rerr := io.ReadFull(body, head)
	switch {
	case rerr == nil || errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF):
	default:
		return bodyError(rerr)
	}
	head = head[:n]
	f.ContentType = sniffContentType(head)
	limit := s.files.MaxBytes
	if int64(n) > limit {
		return tooLarge(limit)
	}
	h.Write(head)
	if _, err := ew.Write(head); err != nil {
		return err
	}
	sink := &sinkWriter{w: io.MultiWriter(ew, h)}
	copied, err := io.Copy(sink, io.LimitReader(readerOnly{body}, limit-int64(n)+1))
	if err != nil {
		if sink.err != nil {
			return fmt.Errorf("storing file: %w", sink.err)
		}
		return bodyError(err)
	}
	f.Size = int64(n) + copied
	if f.Size > limit {
		return tooLarge(limit)
	}
	if err := ew.Close(); err != nil {
		return fmt.Errorf("sealing file: %w", err)
	}
	if err := bw.Close(); err != nil {
		return fmt.Errorf("storing file: %w", err)
	}
	f.SHA256 = h.Sum(nil)
	return nil
}

// readerOnly hides a body's WriterTo, so that io.Copy's errors from the
// body and from the blob can be told apart by the writer's wrapper.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// sinkWriter remembers its writer's error.
type sinkWriter struct {
	w   io.Writer
	err error
}

func (s *sinkWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

func tooLarge(limit int64) error {
	return strongroom.Errorf(strongroom.ETOOLARGE, "the file is larger than the limit of %d bytes", limit)
}

// bodyError turns a failure reading the upload into the caller's error: an
// http.MaxBytesError (the handler's cap) is ETOOLARGE; anything else (the
// client went away) is EINVALID.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	return strongroom.Errorf(strongroom.EINVALID, "the upload could not be read")
}

// sniffContentType names the content from its first bytes (the WHATWG MIME
// sniffing algorithm, as net/http implements it): never from the uploader's
// claim or the name's extension.
func sniffContentType(head []byte) string {
	if len(head) == 0 {
		return "application/octet-stream"
	}
	return http.DetectContentType(head)
}

// Files lists a record's files (metadata only), audited as a read.
func (s *Service) Files(ctx context.Context, org strongroom.TenantID, coll string, rec strongroom.RecordID) ([]strongroom.File, error) {
	c, err := s.fileRecord(ctx, org, access.RecordsRead, coll, rec)
	if err != nil {
		return nil, err
	}
	var out []strongroom.File
	if err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		out, err = tx.Files(ctx, c.ID, rec)
		return err
	}); err != nil {
		return nil, err
	}
	if err := s.auditRead(ctx, org, "file.list", "record", string(rec), map[string]any{"collection": c.Name, "files": len(out)}); err != nil {
		return nil, err
	}
	return out, nil
}

// OpenFile returns a file's metadata and a reader of its plaintext. The read
// is audited before OpenFile returns. The first segment has been verified by
// then (a tampered, moved or foreign blob fails here); the reader verifies
// each further segment before returning it, and at the end checks the
// length and SHA-256 against the metadata, failing with an error (never
// io.EOF) on any mismatch, truncation included. The caller closes it.
func (s *Service) OpenFile(ctx context.Context, org strongroom.TenantID, coll string, rec strongroom.RecordID, id strongroom.FileID) (*strongroom.File, io.ReadCloser, error) {
	c, err := s.fileRecord(ctx, org, access.RecordsRead, coll, rec)
	if err != nil {
		return nil, nil, err
	}
	if !ValidID(string(id)) {
		return nil, nil, strongroom.Errorf(strongroom.ENOTFOUND, "file not found")
	}
	var f *strongroom.File
	if err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		f, err = tx.File(ctx, c.ID, rec, id)
		return err
	}); err != nil {
		return nil, nil, err
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.openBlob(ctx, keys, f)
	if err != nil {
		return nil, nil, err
	}
	if err := s.auditRead(ctx, org, "file.read", "file", string(id), map[string]any{"collection": c.Name, "record": string(rec)}); err != nil {
		_ = rc.Close()
		return nil, nil, err
	}
	return f, rc, nil
}

// openBlob opens a file's blob and its first segment.
func (s *Service) openBlob(ctx context.Context, keys *keyring.TenantKeys, f *strongroom.File) (io.ReadCloser, error) {
	if s.files.Blobs == nil {
		return nil, strongroom.Errorf(strongroom.EUNAVAILABLE, "files are not configured")
	}
	br, err := s.files.Blobs.NewReader(ctx, blobKey(keys.Tenant, f.ID))
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", f.ID, err)
	}
	pr, err := openFileStream(br, keys.Tenant, keys.Key, f)
	if err != nil {
		_ = br.Close()
		return nil, fmt.Errorf("opening file %s: %w", f.ID, err)
	}
	return &fileReader{r: pr, c: br}, nil
}

// openFileStream opens the sealed stream src as tenant's file f's content
// under the key its header names (looked up by key), and verifies its first
// segment.
func openFileStream(src io.Reader, tenant strongroom.TenantID, key func(uint32) (envelope.Key, bool), f *strongroom.File) (*bufio.Reader, error) {
	br := bufio.NewReader(src)
	kid, err := envelope.PeekStreamKeyID(br)
	if err != nil {
		return nil, err
	}
	k, ok := key(kid)
	if !ok {
		return nil, envelope.ErrOpen
	}
	dec, err := envelope.NewReader(br, k, fileAD(tenant, f.CollectionID, f.RecordID, f.ID))
	if err != nil {
		return nil, err
	}
	v := &verifier{r: dec, h: sha256.New(), size: f.Size, sum: f.SHA256}
	pr := bufio.NewReaderSize(v, envelope.SegmentSize)
	if _, err := pr.Peek(1); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return pr, nil
}

type fileReader struct {
	r io.Reader
	c io.Closer
}

func (fr *fileReader) Read(p []byte) (int, error) { return fr.r.Read(p) }
func (fr *fileReader) Close() error               { return fr.c.Close() }

// errFileMismatch: a stream that opened but whose length or digest is not
// the metadata's (a blob of the same place sealed again, which should never
// happen, or a row changed in the database).
var errFileMismatch = errors.New("file content does not match its metadata")

// verifier counts and hashes the plaintext and checks both at the end.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	sum  []byte
	err  error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.size {
		v.err = errFileMismatch
		return 0, v.err
	}
	if errors.Is(err, io.EOF) {
		if v.n != v.size || subtle.ConstantTimeCompare(v.h.Sum(nil), v.sum) != 1 {
			v.err = errFileMismatch
			return n, v.err
		}
		v.err = io.EOF
	} else if err != nil {
		v.err = err
	}
	return n, err
}

// DeleteFile deletes a file: the row with its audit event, then the blob (a
// blob left by a failure is removed by the orphan sweeper).
func (s *Service) DeleteFile(ctx context.Context, org strongroom.TenantID, coll string, rec strongroom.RecordID, id strongroom.FileID) error {
	c, err := s.fileRecord(ctx, org, access.RecordsWrite, coll, rec)
	if err != nil {
		return err
	}
	if !ValidID(string(id)) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "file not found")
	}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.DeleteFile(ctx, c.ID, rec, id); err != nil {
			return err
		}
		return audit(ctx, tx, "file.delete", "file", string(id), map[string]any{"collection": c.Name, "record": string(rec)})
	})
	if err != nil {
		return err
	}
	if err := s.files.Blobs.Delete(context.WithoutCancel(ctx), blobKey(org, id)); err != nil {
		s.log.Warn("deleting a deleted file's blob; the orphan sweeper will", "file", id, "err", err)
	}
	return nil
}

// safeServedTypes are the sniffed types a download keeps; anything else is
// served as application/octet-stream. Downloads are attachments with nosniff
// and a sandboxing CSP whatever the type.
var safeServedTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true,
	"application/pdf": true, "text/plain; charset=utf-8": true, "application/zip": true,
}

// ServedContentType is the Content-Type a download of f carries.
func ServedContentType(f *strongroom.File) string {
	if safeServedTypes[f.ContentType] {
		return f.ContentType
	}
	return "application/octet-stream"
}
