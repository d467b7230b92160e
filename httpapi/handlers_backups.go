package httpapi

import (
	"net/http"
	"time"

	"strongroom.dev/strongroom/backup"
)

// backupJSON is a backup as operators see it (from the index beside it).
type backupJSON struct {
	Name          string    `json:"name"`
	CreatedAt     time.Time `json:"created_at"`
	Engine        string    `json:"engine"`
	SchemaVersion int       `json:"schema_version"`
	Rows          int64     `json:"rows"`
	Bytes         int64     `json:"bytes"`
	SHA256        string    `json:"sha256"`
}

func (s *Server) operatorBackups(w http.ResponseWriter, r *http.Request) error {
	items, configured, err := s.svc.OperatorBackups(r.Context())
	if err != nil {
		return err
	}
	out := make([]backupJSON, 0, len(items))
	for _, b := range items {
		out = append(out, backupJSON{Name: b.Name, CreatedAt: b.CreatedAt, Engine: b.Engine, SchemaVersion: b.SchemaVersion,
			Rows: b.Rows, Bytes: b.ArchiveBytes, SHA256: b.ArchiveSHA256})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"configured": configured, "items": out})
	return nil
}

// drillJSON is a restore drill's recorded result.
type drillJSON struct {
	Backup     string    `json:"backup"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	Tables     int       `json:"tables"`
	Rows       int64     `json:"rows"`
	Chains     int       `json:"chains"`
	Events     int64     `json:"events"`
	OK         bool      `json:"ok"`
	Problem    string    `json:"problem,omitempty"`
}

func (s *Server) operatorDrills(w http.ResponseWriter, r *http.Request) error {
	items, configured, err := s.svc.OperatorDrills(r.Context())
	if err != nil {
		return err
	}
	out := make([]drillJSON, 0, len(items))
	for _, d := range items {
		out = append(out, drillOut(d))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"configured": configured, "items": out})
	return nil
}

func drillOut(d backup.DrillResult) drillJSON {
	return drillJSON{Backup: d.Backup, StartedAt: d.StartedAt, DurationMS: d.Duration.Milliseconds(), Tables: d.Tables, Rows: d.Rows,
		Chains: d.Chains, Events: d.Events, OK: d.OK, Problem: d.Problem}
}
