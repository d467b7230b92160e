package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/service"
)

// "Back up now" and the progress of the running backup on the operator's
// backups page. The page shows the running or last backup run with a
// <progress> bar and a Refresh link; with script (static/js/backup.js) it
// follows a running backup by polling backupRunJSON once a second, as the
// export page does, and reloads the page when the backup has ended so that
// the new backup shows in the list.

// backupStalledAfter is how long a running backup may go without an update
// (it writes one at least every 30 seconds) before the page calls it stalled;
// after five minutes the next backup closes it as failed.
const backupStalledAfter = 2 * time.Minute

// backupRunView is a backup run as the page and its progress endpoint show it.
type backupRunView struct {
	ID      string `json:"id"`
	Status  string `json:"status"` // running, succeeded or failed
	Stalled bool   `json:"stalled"`
	// By is who started it: "the schedule" or an operator's e-mail address.
	By        string `json:"by"`
	Started   string `json:"started"`
	Finished  string `json:"finished"`
	Phase     string `json:"phase"`
	Rows      int64  `json:"rows"`
	RowsTotal int64  `json:"rows_total"`
	// Progress and Max are the <progress> element's value and max.
	Progress int64  `json:"progress"`
	Max      int64  `json:"max"`
	Size     string `json:"size"` // plaintext written so far
	Name     string `json:"name"`
	Error    string `json:"error"`
	// Label is the status in words; Detail the counts (and the phase while
	// it runs).
	Label  string `json:"label"`
	Detail string `json:"detail"`
}

func toBackupRunView(st *service.BackupRunStatus, now time.Time) *backupRunView {
	r := st.Run
	if r == nil {
		return nil
	}
	x := &backupRunView{ID: r.ID, Status: "running", By: "the schedule", Started: whenUTC(r.StartedAt), Finished: "—", Phase: r.Phase,
		Rows: r.RowsDone, RowsTotal: r.RowsTotal, Progress: r.RowsDone, Max: max(r.RowsTotal, r.RowsDone, 1),
		Size: humanBytes(r.BytesDone), Name: r.Name, Error: r.Error}
	if st.StartedBy != "" {
		x.By = st.StartedBy
	}
	if r.FinishedAt != nil {
		x.Status, x.Finished = r.Outcome, whenUTC(*r.FinishedAt)
	}
	switch {
	case x.Status == "succeeded":
		x.Progress, x.Max, x.Label = max(r.RowsDone, 1), max(r.RowsDone, 1), "Taken"
	case x.Status == "failed":
		x.Label = "Failed"
	case now.Sub(r.UpdatedAt) > backupStalledAfter:
		x.Stalled, x.Label = true, "Stalled: no progress since "+whenUTC(r.UpdatedAt)
	default:
		x.Label = "Running"
	}
	x.Detail = strconv.FormatInt(r.RowsDone, 10) + " rows, " + x.Size + " of plaintext"
	if x.Status == "running" {
		switch {
		case r.BytesTotal > 0: // a database file being copied: the bar follows its bytes
			x.Progress, x.Max = r.BytesDone, max(r.BytesTotal, r.BytesDone, 1)
			x.Detail = x.Size + " of " + humanBytes(r.BytesTotal)
		case r.RowsTotal > 0:
			x.Detail = strconv.FormatInt(r.RowsDone, 10) + " of about " + strconv.FormatInt(r.RowsTotal, 10) + " rows, " + x.Size + " of plaintext"
		}
		x.Detail += " · " + r.Phase
	}
	return x
}

// startBackup is the "Back up now" form.
func (c *Console) startBackup(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	err := readForm(w, r)
	if err == nil {
		_, err = c.svc.StartBackup(ctx)
	}
	if err != nil {
		v, ok := c.backupsView(w, r)
		if !ok {
			return
		}
		c.fail(w, r, "backups", v, err)
		return
	}
	redirect(w, r, "/operator/backups#backup-run-title", "backup-started")
}

// backupRunJSON answers the backups page's script with the running or last
// backup run as JSON (the page itself shows the same without script).
func (c *Console) backupRunJSON(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	st, err := c.svc.BackupRun(ctx)
	if err != nil {
		status := httpapi.StatusOf(err)
		if status >= 500 {
			c.log.Error("console: reading the backup run", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(status)})
		return
	}
	out := struct {
		CanStart bool           `json:"can_start"`
		Run      *backupRunView `json:"run"`
	}{CanStart: st.CanStart, Run: toBackupRunView(st, time.Now())}
	if err := json.NewEncoder(w).Encode(out); err != nil {
		c.log.Warn("console: writing the backup's progress", "err", err)
	}
}
