package service

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	auditexport "strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

// Tenant export (portability, LIF-02; docs/lifecycle.md): the whole
// organization as one zip archive of JSON and JSON Lines files, encrypted with
// age to a passphrase or a recipient, streamed to the Admin in constant memory
// while an export_jobs row records its progress.

// ExportFormat names the archive's manifest format.
const ExportFormat = "strongroom-tenant-export"

// Export limits.
const (
	minExportPassphrase = 16
	maxExportPassphrase = 1024
	exportPageSize      = 500
	// exportScryptWorkFactor is age's scrypt cost for passphrases: 2^15
	// (32 MiB, about 0.1 s here) instead of age's default 2^18 (256 MiB), so
	// that an export's memory stays small; a 16-character passphrase is the
	// strength that matters.
	exportScryptWorkFactor = 15
)

// ExportInput says how to encrypt an export: to a passphrase, or to an age
// X25519 recipient ("age1…"), exactly one of them.
type ExportInput struct {
	Passphrase string
	Recipient  string
}

// OrgExport is an export decided on and audited; Write streams it.
type OrgExport struct {
	Job       store.ExportJob
	s         *Service
	org       strongroom.TenantID
	recipient age.Recipient
}

// ExportOrg prepares a complete export of an organization (Admins with a
// recent sign-in, also during a termination's return window). It is audited
// as "org.export" before a byte is written.
func (s *Service) ExportOrg(ctx context.Context, org strongroom.TenantID, in ExportInput) (*OrgExport, error) {
	if err := s.Authorize(ctx, access.OrgExport, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if err := s.requireStepUp(ctx); err != nil {
		return nil, err
	}
	x := &OrgExport{s: s, org: org}
	switch {
	case in.Passphrase != "" && in.Recipient != "":
		return nil, validation("/recipient", "give a passphrase or a recipient, not both")
	case in.Passphrase != "":
		if n := len([]rune(in.Passphrase)); n < minExportPassphrase || len(in.Passphrase) > maxExportPassphrase {
			return nil, validation("/passphrase", "must be %d to %d characters", minExportPassphrase, maxExportPassphrase)
		}
		r, err := age.NewScryptRecipient(in.Passphrase)
		if err != nil {
			return nil, validation("/passphrase", "cannot be used")
		}
		r.SetWorkFactor(exportScryptWorkFactor)
		x.recipient, x.Job.Encryption = r, "passphrase"
	case in.Recipient != "":
		r, err := age.ParseX25519Recipient(strings.TrimSpace(in.Recipient))
		if err != nil {
			return nil, validation("/recipient", "must be an age X25519 recipient (age1…)")
		}
		x.recipient, x.Job.Encryption = r, "recipient"
	default:
		return nil, validation("/passphrase", "give a passphrase or an age recipient to encrypt the export to")
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	now := s.clock()
	x.Job.ID, x.Job.Status, x.Job.RequestedBy, x.Job.StartedAt, x.Job.UpdatedAt = id, "running", actorID(ctx), now, now
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		n, err := tx.CountTenantRecords(ctx)
		if err != nil {
			return err
		}
		x.Job.RecordsTotal = n
		if err := tx.SaveExportJob(ctx, &x.Job); err != nil {
			return err
		}
		return audit(ctx, tx, "org.export", "export", id, map[string]any{"encryption": x.Job.Encryption,
			"records": n, "terminated": strongroom.PrincipalFrom(ctx).OrgTerminated})
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// ExportJob returns an export's progress.
func (s *Service) ExportJob(ctx context.Context, org strongroom.TenantID, id string) (*store.ExportJob, error) {
	if err := s.Authorize(ctx, access.OrgExport, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "export not found")
	}
	var j *store.ExportJob
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		j, err = tx.ExportJob(ctx, id)
		return err
	})
	return j, err
}

// MaxExportJobs is how many recent exports ExportJobs lists at most.
const MaxExportJobs = 20

// ExportJobs returns the organization's most recent exports with their
// progress, newest first (Admins; at most MaxExportJobs).
func (s *Service) ExportJobs(ctx context.Context, org strongroom.TenantID) ([]store.ExportJob, error) {
	if err := s.Authorize(ctx, access.OrgExport, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var out []store.ExportJob
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		out, err = tx.ExportJobs(ctx, MaxExportJobs)
		return err
	})
	return out, err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Write streams the encrypted archive to w and records progress after each
// page of records. An error part way marks the job failed and leaves w with
// a cut-off archive, which age refuses to decrypt in full.
func (x *OrgExport) Write(ctx context.Context, w io.Writer) error {
	cw := &countingWriter{w: w}
	err := x.write(ctx, cw)
	now := x.s.clock()
	x.Job.UpdatedAt, x.Job.FinishedAt, x.Job.Bytes = now, &now, cw.n
	x.Job.Status = "completed"
	if err != nil {
		x.Job.Status = "failed"
	}
	// The job row is written even when the request was cancelled.
	wctx := context.WithoutCancel(ctx)
	if serr := x.s.store.Write(wctx, store.TenantScope(x.org), func(tx *store.Tx) error {
		return tx.SaveExportJob(wctx, &x.Job)
	}); serr != nil && err == nil {
		err = serr
	}
	return err
}

// ExportManifest is the archive's manifest.json.
type ExportManifest struct {
	Format       string                   `json:"format"`
	V            int                      `json:"v"`
	Tenant       strongroom.TenantID      `json:"tenant"`
	Organization string                   `json:"organization"`
	ExportID     string                   `json:"export_id"`
	ExportedAt   time.Time                `json:"exported_at"`
	Files        map[string]int64         `json:"files"` // lines (JSON Lines) or 1 (JSON), by file name
	Audit        auditexport.ExportHeader `json:"audit"`
}

type exportOrg struct {
	ID        strongroom.TenantID `json:"id"`
	Name      string              `json:"name"`
	CreatedAt time.Time           `json:"created_at"`
}

type exportMember struct {
	UserID    strongroom.UserID     `json:"user_id"`
	Email     string                `json:"email"`
	Role      strongroom.Role       `json:"role"`
	Clients   []strongroom.ClientID `json:"clients"`
	CreatedAt time.Time             `json:"created_at"`
}

type exportClient struct {
	ID        strongroom.ClientID `json:"id"`
	Name      string              `json:"name"`
	CreatedAt time.Time           `json:"created_at"`
}

type exportCollection struct {
	ID         strongroom.CollectionID     `json:"id"`
	Name       string                      `json:"name"`
	Schema     json.RawMessage             `json:"schema"`
	Searchable []string                    `json:"searchable"`
	Retention  *strongroom.RetentionPolicy `json:"retention"`
	CreatedAt  time.Time                   `json:"created_at"`
	File       string                      `json:"file"`
}

type exportRecord struct {
	ID         strongroom.RecordID  `json:"id"`
	ClientID   *strongroom.ClientID `json:"client_id"`
	Version    int64                `json:"version"`
	Restricted bool                 `json:"restricted"`
	CreatedAt  time.Time            `json:"created_at"`
	UpdatedAt  time.Time            `json:"updated_at"`
	Data       json.RawMessage      `json:"data"`
}

func (x *OrgExport) write(ctx context.Context, w io.Writer) error {
	s, org := x.s, x.org
	enc, err := age.Encrypt(w, x.recipient)
	if err != nil {
		return fmt.Errorf("starting encryption: %w", err)
	}
	zw := zip.NewWriter(enc)
	m := ExportManifest{Format: ExportFormat, V: 1, Tenant: org, ExportID: x.Job.ID, ExportedAt: x.Job.StartedAt, Files: map[string]int64{}}
	var o *strongroom.Organization
	var settings *strongroom.OrgSettings
	var members []strongroom.Membership
	var clients []strongroom.Client
	var colls []strongroom.Collection
	err = s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if o, err = tx.Organization(ctx); err != nil {
			return err
		}
		if settings, err = tx.OrgSettings(ctx); err != nil {
			return err
		}
		if members, err = tx.Members(ctx); err != nil {
			return err
		}
		if clients, err = tx.Clients(ctx, strongroom.Visibility{All: true}); err != nil {
			return err
		}
		colls, err = tx.Collections(ctx)
		return err
	})
	if err != nil {
		return err
	}
	m.Organization = o.Name
	if err := writeJSONFile(zw, "organization.json", exportOrg{o.ID, o.Name, o.CreatedAt}, m.Files); err != nil {
		return err
	}
	if err := writeJSONFile(zw, "settings.json", settings, m.Files); err != nil {
		return err
	}
	ms := make([]exportMember, 0, len(members))
	for _, mb := range members {
		cl := mb.Clients
		if cl == nil {
			cl = []strongroom.ClientID{}
		}
		ms = append(ms, exportMember{mb.UserID, mb.Email, mb.Role, cl, mb.CreatedAt})
	}
	if err := writeLines(zw, "members.jsonl", ms, m.Files); err != nil {
		return err
	}
	cls := make([]exportClient, 0, len(clients))
	for _, c := range clients {
		cls = append(cls, exportClient{c.ID, c.Name, c.CreatedAt})
	}
	if err := writeLines(zw, "clients.jsonl", cls, m.Files); err != nil {
		return err
	}
	var cs []exportCollection
	for _, c := range colls {
		cs = append(cs, exportCollection{ID: c.ID, Name: c.Name, Schema: json.RawMessage(c.Schema), Searchable: c.Searchable,
			Retention: c.Retention, CreatedAt: c.CreatedAt, File: "records/" + c.Name + ".jsonl"})
	}
	if err := writeLines(zw, "collections.jsonl", cs, m.Files); err != nil {
		return err
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return err
	}
	for _, c := range colls {
		if err := x.writeRecords(ctx, zw, keys, c, m.Files); err != nil {
			return err
		}
		x.Job.Collections++
	}
	if err := x.writeFiles(ctx, zw, keys, m.Files); err != nil {
		return err
	}
	// The audit log with its signed checkpoints, exactly as GET …/audit/export
	// gives it (verifiable offline with `strongroom audit verify`).
	key, err := s.keys.ExistingSigningKey(ctx)
	if err != nil {
		return err
	}
	var pubs []ed25519.PublicKey
	if key != nil {
		pubs = append(pubs, key.PublicKey())
	}
	plan, err := auditexport.PlanExport(ctx, s.store, org, pubs, x.Job.StartedAt)
	if err != nil {
		return err
	}
	m.Audit = plan.Header
	aw, err := zw.Create("audit.jsonl")
	if err != nil {
		return fmt.Errorf("writing audit.jsonl: %w", err)
	}
	if err := auditexport.Export(ctx, aw, s.store, plan); err != nil {
		return err
	}
	m.Files["audit.jsonl"] = plan.Header.Events + plan.Header.Checkpoints + 1
	if err := writeJSONFile(zw, "manifest.json", m, nil); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finishing the archive: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("finishing encryption: %w", err)
	}
	return nil
}

// writeRecords writes one collection's records, decrypted, a page at a time,
// recording progress after each page.
func (x *OrgExport) writeRecords(ctx context.Context, zw *zip.Writer, keys *keyring.TenantKeys, c strongroom.Collection, files map[string]int64) error {
	name := "records/" + c.Name + ".jsonl"
	fw, err := zw.Create(name)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	enc := json.NewEncoder(fw)
	enc.SetEscapeHTML(false)
	files[name] = 0
	var after strongroom.RecordID
	for {
		var page []strongroom.Record
		err := x.s.store.Read(ctx, store.TenantScope(x.org), func(tx *store.Tx) error {
			var err error
			page, err = tx.Records(ctx, store.RecordQuery{Collection: c.ID, After: after, Limit: exportPageSize,
				Visibility: strongroom.Visibility{All: true, Restricted: true}})
			return err
		})
		if err != nil {
			return err
		}
		for i := range page {
			r := &page[i]
			if err := x.s.open(keys, r); err != nil {
				return err
			}
			if err := enc.Encode(exportRecord{ID: r.ID, ClientID: r.ClientID, Version: r.Version, Restricted: r.Restricted,
				CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Data: json.RawMessage(r.Data)}); err != nil {
				return fmt.Errorf("writing %s: %w", name, err)
			}
		}
		files[name] += int64(len(page))
		x.Job.Records += int64(len(page))
		if len(page) < exportPageSize {
			return nil
		}
		after = page[len(page)-1].ID
		x.Job.UpdatedAt = x.s.clock()
		if err := x.s.store.Write(ctx, store.TenantScope(x.org), func(tx *store.Tx) error {
			return tx.SaveExportJob(ctx, &x.Job)
		}); err != nil {
			return err
		}
	}
}

func writeJSONFile(zw *zip.Writer, name string, v any, files map[string]int64) error {
	fw, err := zw.Create(name)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	enc := json.NewEncoder(fw)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if files != nil {
		files[name] = 1
	}
	return nil
}

func writeLines[T any](zw *zip.Writer, name string, items []T, files map[string]int64) error {
	fw, err := zw.Create(name)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	enc := json.NewEncoder(fw)
	enc.SetEscapeHTML(false)
	for i := range items {
		if err := enc.Encode(items[i]); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	files[name] = int64(len(items))
	return nil
}

// exportFile is a line of files.jsonl: a file's metadata and the archive
// entry that holds its content (files/<id>, decrypted).
type exportFile struct {
	ID           strongroom.FileID       `json:"id"`
	CollectionID strongroom.CollectionID `json:"collection_id"`
	RecordID     strongroom.RecordID     `json:"record_id"`
	Name         string                  `json:"name"`
	ContentType  string                  `json:"content_type"`
	Size         int64                   `json:"size"`
	SHA256       string                  `json:"sha256"`
	CreatedBy    string                  `json:"created_by"`
	CreatedAt    time.Time               `json:"created_at"`
	Path         string                  `json:"path"`
}

// writeFiles writes files.jsonl, then each file's content as files/<id>,
// decrypted and verified as it streams (memory stays one segment per file
// whatever their sizes). Both passes page through the files in ID order.
func (x *OrgExport) writeFiles(ctx context.Context, zw *zip.Writer, keys *keyring.TenantKeys, files map[string]int64) error {
	const name = "files.jsonl"
	fw, err := zw.Create(name)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	enc := json.NewEncoder(fw)
	enc.SetEscapeHTML(false)
	files[name] = 0
	err = x.eachFilePage(ctx, func(page []strongroom.File) error {
		for _, f := range page {
			if err := enc.Encode(exportFile{ID: f.ID, CollectionID: f.CollectionID, RecordID: f.RecordID, Name: f.Name,
				ContentType: f.ContentType, Size: f.Size, SHA256: hex.EncodeToString(f.SHA256), CreatedBy: f.CreatedBy,
				CreatedAt: f.CreatedAt, Path: "files/" + string(f.ID)}); err != nil {
				return fmt.Errorf("writing %s: %w", name, err)
			}
		}
		files[name] += int64(len(page))
		return nil
	})
	if err != nil || files[name] == 0 {
		return err
	}
	return x.eachFilePage(ctx, func(page []strongroom.File) error {
		for i := range page {
			f := &page[i]
			rc, err := x.s.openBlob(ctx, keys, f)
			if err != nil {
				return err
			}
			cw, err := zw.CreateHeader(&zip.FileHeader{Name: "files/" + string(f.ID), Method: zip.Store, Modified: f.CreatedAt})
			if err == nil {
				_, err = io.Copy(cw, rc)
			}
			_ = rc.Close()
			if err != nil {
				return fmt.Errorf("exporting file %s: %w", f.ID, err)
			}
		}
		return nil
	})
}

func (x *OrgExport) eachFilePage(ctx context.Context, fn func([]strongroom.File) error) error {
	var after strongroom.FileID
	for {
		var page []strongroom.File
		if err := x.s.store.Read(ctx, store.TenantScope(x.org), func(tx *store.Tx) error {
			var err error
			page, err = tx.FilesAfter(ctx, after, exportPageSize)
			return err
		}); err != nil {
			return err
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if len(page) < exportPageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}
