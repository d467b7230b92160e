package web

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/httpapi"
)

// Files of a record (docs/files.md): listed on the record page with an
// upload form (multipart, read as a stream: the file part goes straight
// into the encrypting blob writer, never to a temporary file in the clear),
// downloaded as attachments, deleted through a confirmation page.

// multipartSlack is what a multipart upload may carry beyond the file: the
// boundaries and part headers of one file part.
const multipartSlack = 16 << 10

type fileDeleteData struct {
	Collection *strongroom.Collection
	Record     strongroom.RecordID
	File       *strongroom.File
}

func recordPath(org strongroom.TenantID, coll string, rec strongroom.RecordID) string {
	return collPath(org, coll) + "/records/" + string(rec)
}

func (c *Console) uploadFile(w http.ResponseWriter, r *http.Request) {
	ctx, org, _, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	rec := strongroom.RecordID(r.PathValue("record"))
	if !can(ctx, access.RecordsWrite, org) {
		c.errorPage(w, r, errNoWrite)
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "multipart/form-data" {
		c.errorPage(w, r, strongroom.Errorf(strongroom.EUNSUPPORTED, "the upload must be sent as multipart/form-data"))
		return
	}
	r.Body = io.NopCloser(httpapi.RawBody(w, r, c.svc.FileMaxBytes()+multipartSlack))
	mr, err := r.MultipartReader()
	if err != nil {
		c.errorPage(w, r, errForm)
		return
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				err = strongroom.Errorf(strongroom.ETOOLARGE, "the file is larger than the limit of %d bytes", c.svc.FileMaxBytes())
			case errors.Is(err, io.EOF):
				err = fieldError("/file", "choose a file to upload")
			default:
				err = errForm
			}
			c.errorPage(w, r, err)
			return
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		_, err = c.svc.UploadFile(ctx, org, coll.Name, rec, part.FileName(), part)
		_ = part.Close()
		if err != nil {
			c.errorPage(w, r, err)
			return
		}
		redirect(w, r, recordPath(org, coll.Name, rec), "file-uploaded")
		return
	}
}

func (c *Console) downloadFile(w http.ResponseWriter, r *http.Request) {
	ctx, org, _, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	f, rc, err := c.svc.OpenFile(ctx, org, coll.Name, strongroom.RecordID(r.PathValue("record")), strongroom.FileID(r.PathValue("file")))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	defer rc.Close()
	if err := httpapi.ServeFile(w, r, f, rc); err != nil {
		if ctx.Err() == nil {
			c.log.Error("console: writing a file download", "err", err, "file", f.ID, "request_id", strongroom.PrincipalFrom(ctx).RequestID)
		}
		panic(http.ErrAbortHandler) // the status is sent: cut the response off
	}
}

func (c *Console) deleteFilePage(w http.ResponseWriter, r *http.Request) {
	ctx, org, o, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	if !can(ctx, access.RecordsWrite, org) {
		c.errorPage(w, r, errNoWrite)
		return
	}
	rec := strongroom.RecordID(r.PathValue("record"))
	fs, err := c.svc.Files(ctx, org, coll.Name, rec)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	id := strongroom.FileID(r.PathValue("file"))
	for i := range fs {
		if fs[i].ID == id {
			c.render(w, r, http.StatusOK, "filedelete", &view{Title: "Delete " + fs[i].Name, Nav: "collections", Org: o,
				Data: fileDeleteData{Collection: coll, Record: rec, File: &fs[i]}})
			return
		}
	}
	c.errorPage(w, r, strongroom.Errorf(strongroom.ENOTFOUND, "file not found"))
}

func (c *Console) deleteFile(w http.ResponseWriter, r *http.Request) {
	ctx, org, _, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	rec := strongroom.RecordID(r.PathValue("record"))
	if err := c.svc.DeleteFile(ctx, org, coll.Name, rec, strongroom.FileID(r.PathValue("file"))); err != nil {
		c.stepUpOr(w, r, err, func() { c.errorPage(w, r, err) })
		return
	}
	redirect(w, r, recordPath(org, coll.Name, rec), "file-deleted")
}
