package web

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"strongroom.dev/strongroom"
)

const fuzzSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
"plan":{"enum":["free","pro",3,null]},"active":{"type":"boolean"},"tags":{"type":"array"}},"required":["name"]}`

// TestSchemaProps: properties come in the schema's order with their input
// kind; a schema that cannot be read gives none.
func TestSchemaProps(t *testing.T) {
	props := schemaProps([]byte(fuzzSchema))
	var got []string
	for _, p := range props {
		got = append(got, p.Name+":"+p.Kind)
	}
	if want := "name:string age:integer plan:enum active:boolean tags:json"; strings.Join(got, " ") != want {
		t.Errorf("props %v, want %s", got, want)
	}
	if !props[0].Required || props[1].Required {
		t.Error("required not read")
	}
	for _, bad := range []string{``, `[]`, `{"properties":[]}`, `{"properties":{"a":1,}}`, `true`} {
		if p := schemaProps([]byte(bad)); len(p) != 0 {
			t.Errorf("schema %q gave %v", bad, p)
		}
	}
}

// FuzzDataFromForm: any submitted values give either a field error or a
// JSON object holding exactly the non-empty inputs; never a panic.
func FuzzDataFromForm(f *testing.F) {
	f.Add("Ada", "36", `"pro"`, "true", `["a"]`, []byte(`{"x":1}`))
	f.Add("", "1e400", "3", "maybe", "{", []byte(`not json`))
	f.Add("é😀", "-0", "null", "false", `{"k":[1,{"a":null}]}`, []byte(nil))
	props := schemaProps([]byte(fuzzSchema))
	f.Fuzz(func(t *testing.T, name, age, plan, active, tags string, base []byte) {
		vals := map[string]string{"p0": name, "p1": age, "p2": plan, "p3": active, "p4": tags}
		out, err := dataFromForm(props, func(k string) string { return vals[k] }, base)
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(out, &obj) != nil {
			t.Fatalf("not a JSON object: %s", out)
		}
		if got, _ := unquote(obj["name"]); utf8.ValidString(name) && got != name {
			t.Errorf("name %q came back as %q", name, got)
		}
		if _, ok := obj["age"]; ok != (strings.TrimSpace(age) != "") {
			t.Errorf("age %q present=%v", age, ok)
		}
	})
}

// TestDataFromFormNull: JSON null, which decodes into a map without an
// error, is neither taken for a whole record (a field error) nor breaks an
// edit of a stored null record (its fields start from nothing).
func TestDataFromFormNull(t *testing.T) {
	whole := formProps([]byte(`{}`))
	for _, v := range []string{"null", " null "} {
		_, err := dataFromForm(whole, func(string) string { return v }, []byte(`{"kept":1}`))
		if fe := strongroom.ErrorFields(err); len(fe) != 1 || fe[0].Path != "/record" {
			t.Errorf("whole record %q: %v", v, err)
		}
	}
	props := schemaProps([]byte(fuzzSchema))
	vals := map[string]string{"p0": "Ada", "p1": "36"}
	out, err := dataFromForm(props, func(k string) string { return vals[k] }, []byte("null"))
	if err != nil || string(out) != `{"age":36,"name":"Ada"}` {
		t.Errorf("editing a stored null: %s, %v", out, err)
	}
}

func unquote(raw json.RawMessage) (string, error) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// FuzzSchemaProps: any schema document is read without a panic, and every
// enum option it yields is JSON.
func FuzzSchemaProps(f *testing.F) {
	f.Add([]byte(fuzzSchema))
	f.Add([]byte(`{"properties":{"a":{"enum":[{"x":[1,2]},"y"]},"a":{"type":["string","null"]}}}`))
	f.Add([]byte(`{"properties":{"":{"title":"\u0000"}},"required":[1]}`))
	f.Fuzz(func(t *testing.T, schema []byte) {
		for _, p := range schemaProps(schema) {
			for _, o := range p.Options {
				if !json.Valid([]byte(o)) {
					t.Errorf("enum option %q of %q is not JSON", o, p.Name)
				}
			}
		}
	})
}
