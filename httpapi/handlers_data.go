package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

type collectionJSON struct {
	ID         strongroom.CollectionID `json:"id"`
	Name       string                  `json:"name"`
	Schema     json.RawMessage         `json:"schema"`
	Searchable []string                `json:"searchable"`
	CreatedAt  time.Time               `json:"created_at"`
	// Retention is the collection's own policy; null follows the
	// organization's default_retention (LIF-01).
	Retention *strongroom.RetentionPolicy `json:"retention"`
}

func toCollection(c strongroom.Collection) collectionJSON {
	s := c.Searchable
	if s == nil {
		s = []string{}
	}
	return collectionJSON{ID: c.ID, Name: c.Name, Schema: c.Schema, Searchable: s, CreatedAt: c.CreatedAt, Retention: c.Retention}
}

func collParam(r *http.Request) string { return r.PathValue("collection") }

func (s *Server) listCollections(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.svc.Collections(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	out := make([]collectionJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, toCollection(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) createCollection(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name       string          `json:"name"`
		Schema     json.RawMessage `json:"schema"`
		Searchable []string        `json:"searchable"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.svc.CreateCollection(r.Context(), orgID(r), service.CollectionInput{Name: in.Name, Schema: in.Schema, Searchable: in.Searchable})
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+c.Name)
	writeJSON(w, http.StatusCreated, toCollection(*c))
	return nil
}

func (s *Server) getCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.Collection(r.Context(), orgID(r), collParam(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toCollection(*c))
	return nil
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteCollection(r.Context(), orgID(r), collParam(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type recordJSON struct {
	ID        strongroom.RecordID  `json:"id"`
	Data      json.RawMessage      `json:"data"`
	ClientID  *strongroom.ClientID `json:"client_id"`
	Version   int64                `json:"version"`
	CreatedAt time.Time            `json:"created_at"`
	UpdatedAt time.Time            `json:"updated_at"`
}

func toRecord(rec strongroom.Record) recordJSON {
	return recordJSON{ID: rec.ID, Data: rec.Data, ClientID: rec.ClientID, Version: rec.Version,
		CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
}

func etag(rec *strongroom.Record) string { return `"` + strconv.FormatInt(rec.Version, 10) + `"` }

// writeRecord answers one record. It is the hot path of the API, so the JSON is
// appended by hand rather than by reflection: every field is an ID (UUID, no
// escaping needed), a number, a time, or data that is already canonical JSON.
// TestRecordJSON checks it against encoding/json.
func writeRecord(w http.ResponseWriter, status int, rec *strongroom.Record) {
	h := w.Header()
	h["Etag"] = []string{etag(rec)}
	h["Cache-Control"] = noStore
	h["Content-Type"] = jsonType
	w.WriteHeader(status)
	_, _ = w.Write(appendRecord(make([]byte, 0, len(rec.Data)+256), rec))
}

var (
	noStore  = []string{"no-store"}
	jsonType = []string{"application/json"}
)

func appendRecord(b []byte, rec *strongroom.Record) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, string(rec.ID))
	b = append(b, `,"data":`...)
	b = append(b, rec.Data...)
	b = append(b, `,"client_id":`...)
	if rec.ClientID == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendQuote(b, string(*rec.ClientID))
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, rec.Version, 10)
	b = append(b, `,"created_at":"`...)
	b = rec.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","updated_at":"`...)
	b = rec.UpdatedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, "\"}\n"...)
}

func recordParam(r *http.Request) strongroom.RecordID { return strongroom.RecordID(r.PathValue("id")) }

// recordInput is the body of POST and PUT. Data stays raw so it is validated
// against the collection schema with numbers exactly as written.
type recordInput struct {
	Data     json.RawMessage      `json:"data"`
	ClientID *strongroom.ClientID `json:"client_id"`
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	in := service.ListInput{Filter: q.Get("filter"), Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return strongroom.Errorf(strongroom.EINVALID, "limit must be a whole number between 1 and %d", service.MaxPageSize)
		}
		if n == 0 {
			n = -1 // an explicit 0 is out of range, not "default"
		}
		in.Limit = n
	}
	page, err := s.svc.Records(r.Context(), orgID(r), collParam(r), in)
	if err != nil {
		return err
	}
	items := make([]recordJSON, 0, len(page.Items))
	for _, rec := range page.Items {
		items = append(items, toRecord(rec))
	}
	var next *string
	if page.NextCursor != "" {
		next = &page.NextCursor
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
	return nil
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) error {
	var in recordInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rec, err := s.svc.CreateRecord(r.Context(), orgID(r), collParam(r), service.RecordInput{Data: in.Data, ClientID: in.ClientID})
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+string(rec.ID))
	writeRecord(w, http.StatusCreated, rec)
	return nil
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.svc.Record(r.Context(), orgID(r), collParam(r), recordParam(r))
	if err != nil {
		return err
	}
	writeRecord(w, http.StatusOK, rec)
	return nil
}

func (s *Server) putRecord(w http.ResponseWriter, r *http.Request) error {
	ifMatch, err := service.ParseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	var in recordInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rec, err := s.svc.ReplaceRecord(r.Context(), orgID(r), collParam(r), recordParam(r), ifMatch,
		service.RecordInput{Data: in.Data, ClientID: in.ClientID})
	if err != nil {
		return err
	}
	writeRecord(w, http.StatusOK, rec)
	return nil
}

func (s *Server) patchRecord(w http.ResponseWriter, r *http.Request) error {
	ifMatch, err := service.ParseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	if err := checkJSONType(r, "application/merge-patch+json"); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var patch json.RawMessage
	if err := unmarshalStrict(body, &patch); err != nil {
		return err
	}
	rec, err := s.svc.PatchRecord(r.Context(), orgID(r), collParam(r), recordParam(r), ifMatch, patch)
	if err != nil {
		return err
	}
	writeRecord(w, http.StatusOK, rec)
	return nil
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) error {
	ifMatch, err := service.ParseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	if err := s.svc.DeleteRecord(r.Context(), orgID(r), collParam(r), recordParam(r), ifMatch); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
