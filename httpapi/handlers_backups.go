package httpapi

import (
	"net/http"
	"time"

	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// backupJSON is a recorded backup as operators see it.
type backupJSON struct {
	Location       string     `json:"location"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	FinishedAt     time.Time  `json:"finished_at"`
	Outcome        string     `json:"outcome"`
	Error          string     `json:"error,omitempty"`
	Engine         string     `json:"engine"`
	SchemaVersion  int        `json:"schema_version"`
	Tables         int        `json:"tables"`
	Rows           int64      `json:"rows"`
	PlainBytes     int64      `json:"plain_bytes"`
	Bytes          int64      `json:"bytes"`
	SHA256         string     `json:"sha256"`
	ManifestSHA256 string     `json:"manifest_sha256"`
	Layout         string     `json:"layout"`
	Blobs          int64      `json:"blobs"`
	BlobBytes      int64      `json:"blob_bytes"`
	BlobsMissing   int64      `json:"blobs_missing"`
	RestoredAt     *time.Time `json:"restored_at,omitempty"`
}

func (s *Server) operatorBackups(w http.ResponseWriter, r *http.Request) error {
	items, location, err := s.svc.OperatorBackups(r.Context())
	if err != nil {
		return err
	}
	out := make([]backupJSON, 0, len(items))
	for _, b := range items {
		out = append(out, backupJSON{Location: b.Location, Name: b.Name, CreatedAt: b.StartedAt, FinishedAt: b.FinishedAt, Outcome: b.Outcome,
			Error: b.Error, Engine: b.Engine, SchemaVersion: b.SchemaVersion, Tables: b.Tables, Rows: b.Rows, PlainBytes: b.PlainBytes,
			Bytes: b.ArchiveBytes, SHA256: b.ArchiveSHA256, ManifestSHA256: b.ManifestSHA256, RestoredAt: b.RestoredAt,
			Layout: b.Layout, Blobs: b.Blobs, BlobBytes: b.BlobBytes, BlobsMissing: b.BlobsMissing})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"configured": location != "", "location": location, "items": out})
	return nil
}

// drillJSON is a restore drill's recorded result.
type drillJSON struct {
	ID         string    `json:"id"`
	Location   string    `json:"location"`
	Backup     string    `json:"backup"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	Outcome    string    `json:"outcome"`
	Tables     int       `json:"tables"`
	Rows       int64     `json:"rows"`
	Chains     int       `json:"chains"`
	Events     int64     `json:"events"`
	// Blobs, BlobBytes and BlobsMissing: the file blobs verified, and the
	// files the backup lists without a blob.
	Blobs        int64  `json:"blobs"`
	BlobBytes    int64  `json:"blob_bytes"`
	BlobsMissing int64  `json:"blobs_missing"`
	OK           bool   `json:"ok"`
	Problem      string `json:"problem,omitempty"`
}

func (s *Server) operatorDrills(w http.ResponseWriter, r *http.Request) error {
	items, location, err := s.svc.OperatorDrills(r.Context())
	if err != nil {
		return err
	}
	out := make([]drillJSON, 0, len(items))
	for _, d := range items {
		out = append(out, drillJSON{ID: d.ID, Location: d.Location, Backup: d.Backup, StartedAt: d.StartedAt, DurationMS: d.Duration.Milliseconds(),
			Outcome: d.Outcome, Tables: d.Tables, Rows: d.Rows, Chains: d.Chains, Events: d.Events, OK: d.Outcome == store.OutcomeSucceeded, Problem: d.Error,
			Blobs: d.Blobs, BlobBytes: d.BlobBytes, BlobsMissing: d.BlobsMissing})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"configured": location != "", "location": location, "items": out})
	return nil
}

// backupRunJSON is the running or last backup run.
type backupRunJSON struct {
	ID         string     `json:"id"`
	Trigger    string     `json:"trigger"`
	StartedBy  string     `json:"started_by,omitempty"` // the operator's e-mail address
	Location   string     `json:"location"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	Running    bool       `json:"running"`
	Phase      string     `json:"phase"`
	Rows       int64      `json:"rows"`
	RowsTotal  int64      `json:"rows_total"`
	Bytes      int64      `json:"plain_bytes"`
	BytesTotal int64      `json:"plain_bytes_total"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Outcome    string     `json:"outcome,omitempty"`
	Name       string     `json:"name,omitempty"`
	Error      string     `json:"error,omitempty"`
}

func writeBackupRun(w http.ResponseWriter, status int, st *service.BackupRunStatus) {
	out := map[string]any{"can_start": st.CanStart, "location": st.Location, "run": nil}
	if r := st.Run; r != nil {
		out["run"] = backupRunJSON{ID: r.ID, Trigger: r.Trigger, StartedBy: st.StartedBy, Location: r.Location, StartedAt: r.StartedAt,
			UpdatedAt: r.UpdatedAt, Running: r.Running(), Phase: r.Phase, Rows: r.RowsDone, RowsTotal: r.RowsTotal, Bytes: r.BytesDone, BytesTotal: r.BytesTotal,
			FinishedAt: r.FinishedAt, Outcome: r.Outcome, Name: r.Name, Error: r.Error}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, out)
}

func (s *Server) operatorBackupRun(w http.ResponseWriter, r *http.Request) error {
	st, err := s.svc.BackupRun(r.Context())
	if err != nil {
		return err
	}
	writeBackupRun(w, http.StatusOK, st)
	return nil
}

func (s *Server) operatorStartBackup(w http.ResponseWriter, r *http.Request) error {
	if err := emptyBody(r); err != nil { // nothing, or {}
		return err
	}
	st, err := s.svc.StartBackup(r.Context())
	if err != nil {
		return err
	}
	writeBackupRun(w, http.StatusAccepted, st)
	return nil
}
