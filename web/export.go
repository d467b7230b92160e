package web

import (
	"encoding/json"
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// The organization export (portability, LIF-02; docs/lifecycle.md): an Admin
// chooses a passphrase or an age recipient and downloads the whole
// organization as an encrypted zip archive. It also works during a
// termination's return window.

// downloadWriteTimeout bounds each write of a long download: the deadline
// moves on with every write, so a large export is not cut off by the
// server's overall write timeout, while a stalled reader still is.
const downloadWriteTimeout = time.Minute

// deadlineWriter extends the response's write deadline before each write.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newDeadlineWriter(w http.ResponseWriter) deadlineWriter {
	return deadlineWriter{w: w, rc: http.NewResponseController(w)}
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(downloadWriteTimeout)) // not every writer has deadlines (tests)
	return d.w.Write(p)
}

// exportStalledAfter is how long a running export may go without recording
// progress before the page calls it stalled (its server most likely stopped
// part way) and the page's script stops polling it.
const exportStalledAfter = 15 * time.Minute

// exportJob is one export as the page and its progress endpoint show it.
type exportJob struct {
	ID           string `json:"id"`
	Status       string `json:"status"` // running, completed, failed
	Stalled      bool   `json:"stalled"`
	Encryption   string `json:"encryption"`
	Collections  int64  `json:"collections"`
	Records      int64  `json:"records"`
	RecordsTotal int64  `json:"records_total"`
	Bytes        int64  `json:"bytes"`
	// Progress and Max are the <progress> element's value and max.
	Progress int64 `json:"progress"`
	Max      int64 `json:"max"`
	// Started, Updated and Finished are for people (UTC); Size too.
	Started  string `json:"started"`
	Updated  string `json:"updated"`
	Finished string `json:"finished"`
	Size     string `json:"size"`
	// Label is the status in words.
	Label string `json:"label"`
}

func toExportJob(j store.ExportJob, now time.Time) exportJob {
	x := exportJob{ID: j.ID, Status: j.Status, Encryption: j.Encryption, Collections: j.Collections, Records: j.Records,
		RecordsTotal: j.RecordsTotal, Bytes: j.Bytes, Progress: j.Records, Max: max(j.RecordsTotal, j.Records, 1),
		Started: whenUTC(j.StartedAt), Updated: whenUTC(j.UpdatedAt), Finished: "—", Size: humanBytes(j.Bytes)}
	if j.FinishedAt != nil {
		x.Finished = whenUTC(*j.FinishedAt)
	}
	switch {
	case j.Status == "completed":
		x.Progress, x.Label = x.Max, "Completed"
	case j.Status == "failed":
		x.Label = "Failed (cut off; the partial archive does not decrypt)"
	case j.Status == "running" && now.Sub(j.UpdatedAt) > exportStalledAfter:
		x.Stalled, x.Label = true, "Stalled: no progress since "+x.Updated
	default:
		x.Label = "Running"
	}
	if j.Status == "running" {
		x.Size = "—" // counted when it ends
	}
	return x
}

type exportData struct {
	Base string // the termination path (the template's exportPath makes the export's)
	Jobs []exportJob
}

func (c *Console) exportView(w http.ResponseWriter, r *http.Request) (*view, strongroom.TenantID, bool) {
	ctx, v, org, ok := c.terminationViewCtx(w, r) // the same access: also during the return window
	if !ok {
		return nil, "", false
	}
	jobs, err := c.svc.ExportJobs(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, "", false
	}
	d := exportData{Base: terminationPath(org), Jobs: make([]exportJob, 0, len(jobs))}
	now := time.Now()
	for _, j := range jobs {
		d.Jobs = append(d.Jobs, toExportJob(j, now))
	}
	v.Title, v.Nav, v.Data, v.Wide = "Export the organization", "export", d, true
	return v, org, true
}

func (c *Console) exportPage(w http.ResponseWriter, r *http.Request) {
	v, _, ok := c.exportView(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "export", v)
}

// exportJobs answers the export page's script with the recent exports'
// progress as JSON (the page itself shows the same without script).
func (c *Console) exportJobs(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	jobs, err := c.svc.ExportJobs(ctx, org)
	if err != nil {
		status := httpapi.StatusOf(err)
		if status >= 500 {
			c.log.Error("console: listing exports", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(status)})
		return
	}
	out := struct {
		Jobs []exportJob `json:"jobs"`
	}{Jobs: make([]exportJob, 0, len(jobs))}
	now := time.Now()
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, toExportJob(j, now))
	}
	h.Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		c.log.Warn("console: writing the exports' progress", "err", err)
	}
}

// exportOrg streams the encrypted archive as a download. The passphrase is
// never written back into the form.
func (c *Console) exportOrg(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	err := readForm(w, r)
	var x *service.OrgExport
	if err == nil {
		in := service.ExportInput{Recipient: r.PostFormValue("recipient")}
		if r.PostFormValue("mode") != "recipient" {
			in = service.ExportInput{Passphrase: r.PostFormValue("passphrase")}
		}
		x, err = c.svc.ExportOrg(ctx, org, in)
	}
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			v, _, ok := c.exportView(w, r)
			if !ok {
				return
			}
			v.Form = keep(r, "passphrase")
			c.fail(w, r, "export", v, err)
		})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "no-store")
	stamp := x.Job.StartedAt.UTC().Format("20060102T150405Z")
	h.Set("Content-Disposition", `attachment; filename="strongroom-`+string(org)+"-"+stamp+`.zip.age"`)
	w.WriteHeader(http.StatusOK)
	if err := x.Write(ctx, newDeadlineWriter(w)); err != nil {
		if r.Context().Err() == nil {
			c.log.Error("console: writing an organization export", "err", err, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
		}
		panic(http.ErrAbortHandler) // cut off, never a complete-looking archive
	}
}
