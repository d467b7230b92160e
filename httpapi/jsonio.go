package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
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

// decodeJSON strictly decodes one JSON value into v: valid UTF-8, no unknown,
// misspelled-case or duplicate fields (exactFields), no trailing data. Errors name the problem without echoing the body.
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
	return exactFields(b, v)
}

// exactFields refuses what encoding/json lets through into a struct: member names
// that match a field only case-insensitively ("Role" for "role"), and duplicate
// members (the last would win). A strict API accepts each field once, spelled
// exactly. b has already been decoded into v without error.
func exactFields(b []byte, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	known := map[string]bool{}
	for i := 0; i < t.Elem().NumField(); i++ {
		f := t.Elem().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		known[name] = true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil // null: nothing to check
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return strongroom.Errorf(strongroom.EINVALID, "malformed JSON")
		}
		name, _ := tok.(string)
		field := name
		if len(field) > 64 {
			field = field[:64]
		}
		switch {
		case !known[name]:
			e := strongroom.Errorf(strongroom.EINVALID, "unknown field")
			e.Fields = []strongroom.FieldError{{Path: "/" + field, Message: "is not a known field (names are case-sensitive)"}}
			return e
		case seen[name]:
			e := strongroom.Errorf(strongroom.EINVALID, "duplicate field")
			e.Fields = []strongroom.FieldError{{Path: "/" + field, Message: "appears more than once"}}
			return e
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return strongroom.Errorf(strongroom.EINVALID, "malformed JSON")
		}
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
		return strongroom.Errorf(strongroom.EINVALID, "malformed JSON")
	}
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
