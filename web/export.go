package web

import (
	"net/http"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
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

func (c *Console) exportView(w http.ResponseWriter, r *http.Request) (*view, strongroom.TenantID, bool) {
	v, org, ok := c.terminationView(w, r) // the same access: also during the return window
	if !ok {
		return nil, "", false
	}
	v.Title, v.Nav, v.Data = "Export the organization", "settings", terminationData{Base: terminationPath(org)}
	return v, org, true
}

func (c *Console) exportPage(w http.ResponseWriter, r *http.Request) {
	v, _, ok := c.exportView(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "export", v)
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
