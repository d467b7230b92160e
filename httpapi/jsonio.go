package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"strongroom.dev/strongroom"
)

// readBody reads the whole body under the size limit set by the middleware.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, strongroom.Errorf(strongroom.ETOOLARGE, "the request body is larger than %d bytes", mbe.Limit)
		}
		return nil, strongroom.Errorf(strongroom.EINVALID, "the request body could not be read")
	}
	return b, nil
}

// checkJSONType refuses bodies that are not declared as JSON (the allowed media
// types are listed; "application/json" always is).
func checkJSONType(r *http.Request, allowed ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return strongroom.Errorf(strongroom.EUNSUPPORTED, "Content-Type must be application/json")
	}
	if cs, ok := params["charset"]; ok && cs != "utf-8" && cs != "UTF-8" {
		return strongroom.Errorf(strongroom.EUNSUPPORTED, "JSON must be UTF-8")
	}
	if mt == "application/json" {
		return nil
	}
	for _, a := range allowed {
		if mt == a {
			return nil
		}
	}
	return strongroom.Errorf(strongroom.EUNSUPPORTED, "Content-Type must be application/json")
}

// decodeJSON strictly decodes one JSON value into v: valid UTF-8, no unknown
// fields, no trailing data. Errors name the problem without echoing the body.
func decodeJSON(r *http.Request, v any) error {
	if err := checkJSONType(r); err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	return unmarshalStrict(b, v)
}

func unmarshalStrict(b []byte, v any) error {
	if !utf8.Valid(b) {
		return strongroom.Errorf(strongroom.EINVALID, "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return strongroom.Errorf(strongroom.EINVALID, "the request body has data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return strongroom.Errorf(strongroom.EINVALID, "the request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return strongroom.Errorf(strongroom.EINVALID, "the request body is empty")
	case errors.As(err, &se):
		return strongroom.Errorf(strongroom.EINVALID, "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		e := strongroom.Errorf(strongroom.EINVALID, "wrong type of a JSON value")
		path := "/" + te.Field
		if te.Field == "" {
			path = ""
		}
		e.Fields = []strongroom.FieldError{{Path: jsonPointer(path), Message: fmt.Sprintf("must be %s", jsonKind(te.Type.Kind().String()))}}
		return e
	case errors.Is(err, io.ErrUnexpectedEOF):
		return strongroom.Errorf(strongroom.EINVALID, "malformed JSON: unexpected end")
	default:
		// DisallowUnknownFields reports `json: unknown field "x"`; the field name
		// comes from the request itself, so it is safe to repeat (quoted).
		if f, ok := unknownField(err.Error()); ok {
			e := strongroom.Errorf(strongroom.EINVALID, "unknown field")
			e.Fields = []strongroom.FieldError{{Path: "/" + f, Message: "is not a known field"}}
			return e
		}
		return strongroom.Errorf(strongroom.EINVALID, "malformed JSON")
	}
}

// unknownField extracts the field name from encoding/json's unknown-field error,
// which has no typed form.
func unknownField(msg string) (string, bool) {
	const prefix = `json: unknown field "`
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix && msg[len(msg)-1] == '"' {
		f := msg[len(prefix) : len(msg)-1]
		if len(f) > 64 {
			f = f[:64]
		}
		return f, true
	}
	return "", false
}

// jsonPointer turns encoding/json's dotted field path into a JSON Pointer.
func jsonPointer(dotted string) string {
	return string(bytes.ReplaceAll([]byte(dotted), []byte("."), []byte("/")))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return "of another type"
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
