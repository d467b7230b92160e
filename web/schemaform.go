package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"strongroom.dev/strongroom"
)

// A record form is generated from the top level of the collection's JSON
// Schema: each property becomes one input by its type. Strings, numbers,
// integers and booleans get inputs of their own, an enum a select; anything
// else (objects, arrays, several types, no type) is edited as raw JSON.

// Kinds of record form inputs.
const (
	kindString  = "string"
	kindNumber  = "number"
	kindInteger = "integer"
	kindBoolean = "boolean"
	kindEnum    = "enum"
	kindJSON    = "json"
	kindWhole   = "record" // the whole record as one JSON object
)

// maxRawRunes bounds the long fields of the console's collection and record
// forms (a schema, a raw JSON value); the whole form stays within
// maxFormBytes.
const maxRawRunes = 32 << 10

// schemaProp is one top-level property of a collection's schema.
type schemaProp struct {
	Name     string
	Title    string
	Hint     string
	Kind     string
	Required bool
	Options  []string // an enum's values as compact JSON
}

// formField is one input of a record form, with its value and message.
type formField struct {
	schemaProp
	ID      string // the element id and form field name: p0, p1, ...
	Value   string
	Choices []choice
}

type choice struct {
	Value, Label string
	Selected     bool
}

// schemaProps reads the top-level properties of a schema in the order the
// schema lists them. A schema it cannot read gives no properties: the form
// then offers only raw JSON for the whole record.
func schemaProps(schema []byte) []schemaProp {
	var doc struct {
		Properties json.RawMessage `json:"properties"`
		Required   []string        `json:"required"`
	}
	if json.Unmarshal(schema, &doc) != nil || len(doc.Properties) == 0 {
		return nil
	}
	names, err := objectKeys(doc.Properties)
	if err != nil {
		return nil
	}
	var defs map[string]json.RawMessage
	if json.Unmarshal(doc.Properties, &defs) != nil {
		return nil
	}
	out := make([]schemaProp, 0, len(names))
	for _, n := range names {
		var d struct {
			Type        any               `json:"type"`
			Enum        []json.RawMessage `json:"enum"`
			Title       string            `json:"title"`
			Description string            `json:"description"`
		}
		p := schemaProp{Name: n, Kind: kindJSON, Required: slices.Contains(doc.Required, n)}
		if json.Unmarshal(defs[n], &d) == nil {
			p.Title, p.Hint = d.Title, d.Description
			switch {
			case len(d.Enum) > 0 && len(d.Enum) <= 100:
				p.Kind = kindEnum
				for _, e := range d.Enum {
					p.Options = append(p.Options, string(compactJSON(e)))
				}
			default:
				if t, ok := d.Type.(string); ok && slices.Contains([]string{kindString, kindNumber, kindInteger, kindBoolean}, t) {
					p.Kind = t
				}
			}
		}
		if p.Title == "" {
			p.Title = n
		}
		out = append(out, p)
	}
	return out
}

// formProps is the record form's inputs: the schema's properties, or, for a
// schema that lists none, one input for the whole record as JSON.
func formProps(schema []byte) []schemaProp {
	if p := schemaProps(schema); len(p) > 0 {
		return p
	}
	return []schemaProp{{Name: "record", Title: "Record", Kind: kindWhole, Required: true,
		Hint: "The whole record as a JSON object: the schema lists no properties to give inputs of their own."}}
}

// objectKeys returns the keys of a JSON object in document order.
func objectKeys(obj json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// Shown is the value as a record page shows it: yes or no for a boolean,
// an enum's text without quotes.
func (f formField) Shown() string {
	switch f.Kind {
	case kindBoolean:
		switch f.Value {
		case "true":
			return "Yes"
		case "false":
			return "No"
		}
	case kindEnum:
		var s string
		if json.Unmarshal([]byte(f.Value), &s) == nil {
			return s
		}
	}
	return f.Value
}

// fieldID is the form field name of the i-th property: property names may
// hold any character, so the form numbers them instead.
func fieldID(i int) string { return "p" + strconv.Itoa(i) }

// formFromData fills a record form from a stored record's data.
func formFromData(props []schemaProp, data []byte) []formField {
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(data, &obj)
	out := make([]formField, len(props))
	for i, p := range props {
		f := formField{schemaProp: p, ID: fieldID(i)}
		if p.Kind == kindWhole {
			f.Value = displayValue(p.Kind, data)
		} else if raw, ok := obj[p.Name]; ok {
			f.Value = displayValue(p.Kind, raw)
		}
		out[i] = f
	}
	return out
}

// displayValue is a stored JSON value as its input shows it.
func displayValue(kind string, raw json.RawMessage) string {
	switch kind {
	case kindString:
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case kindNumber, kindInteger, kindBoolean, kindEnum:
		return string(compactJSON(raw))
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// formFromValues fills a record form with submitted values.
func formFromValues(props []schemaProp, get func(string) string) []formField {
	out := make([]formField, len(props))
	for i, p := range props {
		out[i] = formField{schemaProp: p, ID: fieldID(i), Value: get(fieldID(i))}
	}
	return out
}

// withChoices fills the select options of enum and boolean fields.
func withChoices(fields []formField) []formField {
	for i := range fields {
		f := &fields[i]
		f.Choices = nil
		switch f.Kind {
		case kindEnum:
			if !f.Required {
				f.Choices = append(f.Choices, choice{Value: "", Label: "— not set —", Selected: f.Value == ""})
			}
			for _, o := range f.Options {
				label := o
				var s string
				if json.Unmarshal([]byte(o), &s) == nil {
					label = s
				}
				f.Choices = append(f.Choices, choice{Value: o, Label: label, Selected: f.Value == o})
			}
		case kindBoolean:
			if !f.Required {
				f.Choices = append(f.Choices, choice{Value: "", Label: "— not set —", Selected: f.Value == ""})
			}
			f.Choices = append(f.Choices, choice{Value: "true", Label: "Yes", Selected: f.Value == "true"},
				choice{Value: "false", Label: "No", Selected: f.Value == "false"})
		}
	}
	return fields
}

// dataFromForm builds a record's JSON object from a submitted form over
// base (a stored record's data, whose properties outside the schema's are
// kept). An empty input leaves its property out. Mistakes come back as
// field errors named by property.
func dataFromForm(props []schemaProp, get func(string) string, base []byte) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &obj); err != nil {
			return nil, fmt.Errorf("decoding the stored record: %w", err)
		}
		if obj == nil { // a stored null: nothing to keep
			obj = map[string]json.RawMessage{}
		}
	}
	var bad []strongroom.FieldError
	fail := func(p schemaProp, msg string) {
		bad = append(bad, strongroom.FieldError{Path: "/" + p.Name, Message: msg})
	}
	for i, p := range props {
		v := get(fieldID(i))
		if p.Kind != kindString {
			v = strings.TrimSpace(v)
		}
		if v == "" {
			delete(obj, p.Name)
			if p.Required {
				fail(p, "is required")
			}
			continue
		}
		var raw json.RawMessage
		switch p.Kind {
		case kindWhole:
			var whole map[string]json.RawMessage
			if json.Unmarshal([]byte(v), &whole) != nil || whole == nil { // null decodes without error
				fail(p, "must be a JSON object, such as {\"name\": \"value\"}")
				continue
			}
			obj = whole
			continue
		case kindString:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("encoding a string: %w", err)
			}
			raw = b
		case kindNumber, kindInteger:
			if !isJSONNumber(v) {
				fail(p, "must be a number, such as 42 or 3.5")
				continue
			}
			raw = json.RawMessage(v)
		case kindBoolean:
			if v != "true" && v != "false" {
				fail(p, "must be yes or no")
				continue
			}
			raw = json.RawMessage(v)
		case kindEnum:
			if !slices.Contains(p.Options, v) {
				fail(p, "must be one of the listed choices")
				continue
			}
			raw = json.RawMessage(v)
		default:
			if !json.Valid([]byte(v)) {
				fail(p, "must be JSON, such as {\"key\": \"value\"} or [1, 2]")
				continue
			}
			raw = compactJSON([]byte(v))
		}
		obj[p.Name] = raw
	}
	if len(bad) > 0 {
		e := strongroom.Errorf(strongroom.EVALIDATION, "the record is not valid")
		e.Fields = bad
		return nil, e
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding the record: %w", err)
	}
	return b, nil
}

// isJSONNumber reports whether s is one JSON number.
func isJSONNumber(s string) bool {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var n any
	if err := dec.Decode(&n); err != nil || dec.More() {
		return false
	}
	_, ok := n.(json.Number)
	return ok && !strings.ContainsAny(s, " \t\r\n")
}

// recordErrors maps the service's schema messages (paths /data/<property>/…)
// to the properties of the form, which fail shows beside their inputs. A
// message about the whole record (path /data) is about the form's "record"
// input when it has one, and is shown above the form otherwise.
func recordErrors(props []schemaProp, err error) error {
	whole := len(props) == 1 && props[0].Kind == kindWhole
	fields := strongroom.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	e := strongroom.Errorf(strongroom.EVALIDATION, "%s", strongroom.ErrorMessage(err))
	for _, f := range fields {
		p := f.Path
		if rest, ok := strings.CutPrefix(p, "/data/"); ok {
			name, sub, nested := strings.Cut(rest, "/")
			p = "/" + unescapePointer(name)
			f.Message = plainMessage(f.Message)
			if whole {
				p, sub, nested = "/record", rest, true
			}
			if nested { // inside an object or array: say where
				f.Message = "at /" + sub + ": " + f.Message
			}
		} else if p == "/data" {
			p = "/record"
		}
		e.Fields = append(e.Fields, strongroom.FieldError{Path: p, Message: f.Message})
	}
	return e
}

// unescapePointer decodes one JSON Pointer token (RFC 6901).
func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// formErrors names readForm's messages about record inputs (p0, p1, ...) by
// their properties, as the page shows messages beside them.
func formErrors(props []schemaProp, err error) error {
	fields := strongroom.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	e := strongroom.Errorf(strongroom.EVALIDATION, "%s", strongroom.ErrorMessage(err))
	for _, f := range fields {
		if i, convErr := strconv.Atoi(strings.TrimPrefix(f.Path, "/p")); convErr == nil && strings.HasPrefix(f.Path, "/p") && i >= 0 && i < len(props) {
			f.Path = "/" + props[i].Name
		}
		e.Fields = append(e.Fields, f)
	}
	return e
}

var (
	boundMessage = regexp.MustCompile(`^(minimum|maximum|exclusiveMinimum|exclusiveMaximum|minLength|maxLength|minItems|maxItems|multipleOf): got .+, want (.+)$`)
	typeMessage  = regexp.MustCompile(`^got [a-z]+, want ([a-z, ]+)$`)
	bounds       = map[string]string{"minimum": "must be at least %s", "maximum": "must be at most %s",
		"exclusiveMinimum": "must be more than %s", "exclusiveMaximum": "must be less than %s",
		"minLength": "must be at least %s characters long", "maxLength": "must be at most %s characters long",
		"minItems": "must have at least %s items", "maxItems": "must have at most %s items", "multipleOf": "must be a multiple of %s"}
)

// plainMessage words the schema validator's commonest messages for people
// ("minimum: got -1, want 0" becomes "must be at least 0"); others pass
// unchanged.
func plainMessage(msg string) string {
	if m := boundMessage.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf(bounds[m[1]], m[2])
	}
	if m := typeMessage.FindStringSubmatch(msg); m != nil {
		return "must be " + map[bool]string{true: "an", false: "a"}[strings.HasPrefix(m[1], "a") || strings.HasPrefix(m[1], "i") || strings.HasPrefix(m[1], "o")] + " " + strings.ReplaceAll(m[1], ", ", " or ")
	}
	if rest, ok := strings.CutPrefix(msg, "value must be "); ok {
		return "must be " + rest
	}
	return msg
}
