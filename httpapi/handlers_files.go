package httpapi

import (
	"context"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

type fileJSON struct {
	ID          strongroom.FileID   `json:"id"`
	RecordID    strongroom.RecordID `json:"record_id"`
	Name        string              `json:"name"`
	ContentType string              `json:"content_type"`
	Size        int64               `json:"size"`
	SHA256      string              `json:"sha256"`
	CreatedBy   string              `json:"created_by"`
	CreatedAt   time.Time           `json:"created_at"`
}

func toFile(f strongroom.File) fileJSON {
	return fileJSON{ID: f.ID, RecordID: f.RecordID, Name: f.Name, ContentType: f.ContentType, Size: f.Size,
		SHA256: hex.EncodeToString(f.SHA256), CreatedBy: f.CreatedBy, CreatedAt: f.CreatedAt}
}

func fileParam(r *http.Request) strongroom.FileID { return strongroom.FileID(r.PathValue("file")) }

// requestBody is the body of every request: capped at Options.MaxBodyBytes,
// with the uncapped body kept for the one route that takes larger bodies
// (file uploads), which caps it again at the file limit.
type requestBody struct {
	io.ReadCloser
	raw io.ReadCloser
}

// RawBody returns r's body capped at limit instead of the default cap; it
// must be called before anything has read the body. Each read moves the
// connection's read deadline on by uploadReadTimeout, so a large upload is
// not cut off by the server's overall ReadTimeout, and a stalled one still is.
func RawBody(w http.ResponseWriter, r *http.Request, limit int64) io.Reader {
	body := r.Body
	if b, ok := r.Body.(*requestBody); ok {
		body = b.raw
	}
	return deadlineReader{r: http.MaxBytesReader(w, body, limit), rc: http.NewResponseController(w)}
}

// uploadReadTimeout is how long one read of an upload may wait.
const uploadReadTimeout = time.Minute

type deadlineReader struct {
	r  io.Reader
	rc *http.ResponseController
}

func (d deadlineReader) Read(p []byte) (int, error) {
	_ = d.rc.SetReadDeadline(time.Now().Add(uploadReadTimeout)) // not every writer has deadlines (tests)
	return d.r.Read(p)
}

// uploadName reads the file name of a raw upload from its
// Content-Disposition header (filename, or RFC 5987 filename*).
func uploadName(r *http.Request) (string, error) {
	cd := r.Header.Get("Content-Disposition")
	if cd == "" {
		return "", fieldError("/Content-Disposition", `name the file: Content-Disposition: attachment; filename="report.pdf"`)
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil || params["filename"] == "" {
		return "", fieldError("/Content-Disposition", "must carry a filename parameter")
	}
	return params["filename"], nil
}

func fieldError(path, msg string) error {
	e := strongroom.Errorf(strongroom.EVALIDATION, "the request is not valid")
	e.Fields = []strongroom.FieldError{{Path: path, Message: msg}}
	return e
}

func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.HasPrefix(mt, "multipart/") {
		return strongroom.Errorf(strongroom.EUNSUPPORTED, "send the file's bytes as the body, named by Content-Disposition, not a multipart form")
	}
	name, err := uploadName(r)
	if err != nil {
		return err
	}
	limit := s.svc.FileMaxBytes()
	if r.ContentLength > limit {
		return strongroom.Errorf(strongroom.ETOOLARGE, "the file is larger than the limit of %d bytes", limit)
	}
	f, err := s.svc.UploadFile(r.Context(), orgID(r), collParam(r), recordParam(r), name, RawBody(w, r, limit))
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+string(f.ID))
	writeJSON(w, http.StatusCreated, toFile(*f))
	return nil
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.svc.Files(r.Context(), orgID(r), collParam(r), recordParam(r))
	if err != nil {
		return err
	}
	out := make([]fileJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, toFile(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

// downloadCSP is the Content-Security-Policy of a download: should a browser
// ever render one, it runs nothing and loads nothing.
var downloadCSP = []string{"default-src 'none'; sandbox; frame-ancestors 'none'"}

// ServeFile writes a file's download response: an attachment with its
// sanitised name, a Content-Type from the safe list (the sniffed type or
// application/octet-stream), nosniff, a sandboxing CSP, no caching, and
// Content-Length, so a response cut short by a failure detected mid-stream
// (a corrupted segment) is visibly incomplete. The console uses it too.
func ServeFile(w http.ResponseWriter, r *http.Request, f *strongroom.File, rc io.Reader) error {
	h := w.Header()
	h.Set("Content-Type", service.ServedContentType(f))
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": f.Name})
	if cd == "" {
		cd = "attachment"
	}
	h.Set("Content-Disposition", cd)
	h["Content-Security-Policy"] = downloadCSP
	h["X-Content-Type-Options"] = nosniffValue
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.WriteHeader(http.StatusOK)
	_, err := io.Copy(deadlineWriter{w: w, rc: http.NewResponseController(w)}, rc)
	return err
}

func (s *Server) downloadFile(w http.ResponseWriter, r *http.Request) error {
	f, rc, err := s.svc.OpenFile(r.Context(), orgID(r), collParam(r), recordParam(r), fileParam(r))
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := ServeFile(w, r, f, rc); err != nil {
		if r.Context().Err() == nil {
			s.log.ErrorContext(context.WithoutCancel(r.Context()), "writing a file download", "err", err,
				"request_id", requestID(r.Context()), "org", orgID(r), "file", f.ID)
		}
		// The status is sent: abort the response so the client sees it cut
		// off, never a complete-looking file.
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteFile(r.Context(), orgID(r), collParam(r), recordParam(r), fileParam(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
