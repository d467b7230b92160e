package service

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
)

// decode parses JSON the way the service does: numbers kept as written.
func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return v
}

// TestMergePatchRFC7386 runs every example of RFC 7386 appendix A.
func TestMergePatchRFC7386(t *testing.T) {
	tests := []struct {
		name, original, patch, want string
	}{
		{"replace member", `{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{"add member", `{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{"remove member", `{"a":"b"}`, `{"a":null}`, `{}`},
		{"remove one of two", `{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{"array replaced by string", `{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{"string replaced by array", `{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{"nested merge", `{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{"array of objects replaced", `{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{"array replaced by array", `["a","b"]`, `["c","d"]`, `["c","d"]`},
		{"object replaced by array", `{"a":"b"}`, `["c"]`, `["c"]`},
		{"object replaced by null", `{"a":"foo"}`, `null`, `null`},
		{"object replaced by string", `{"a":"foo"}`, `"bar"`, `"bar"`},
		{"null member kept", `{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{"array target replaced by object", `[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{"nulls in new nested object dropped", `{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mergePatch(decode(t, tc.original), decode(t, tc.patch))
			if diff := cmp.Diff(decode(t, tc.want), got); diff != "" {
				t.Errorf("mergePatch(%s, %s) (-want +got):\n%s", tc.original, tc.patch, diff)
			}
		})
	}
}

func TestCanonicalJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"keys sorted, no spaces", `{"b": 1, "a": {"d": true, "c": null}}`, `{"a":{"c":null,"d":true},"b":1}`},
		{"numbers as written", `{"a": 1.0, "b": 1e2, "c": -0, "d": 12345678901234567890}`, `{"a":1.0,"b":1e2,"c":-0,"d":12345678901234567890}`},
		{"non-ASCII kept", `{"name": "Zoë 北京 🙂"}`, `{"name":"Zoë 北京 🙂"}`},
		{"escaped non-ASCII decoded", `{"name": "Zo\u00eb"}`, `{"name":"Zoë"}`},
		{"no HTML escaping", `{"x": "<script>alert(1)</script> & more"}`, `{"x":"<script>alert(1)</script> & more"}`},
		{"SQL metacharacters", `{"q": "'; DROP TABLE records; --", "r": "\" OR 1=1 --", "s": "a\\b"}`, `{"q":"'; DROP TABLE records; --","r":"\" OR 1=1 --","s":"a\\b"}`},
		{"RTL and combining marks", `{"t": "שלום e\u0301 \u200f"}`, "{\"t\":\"שלום e\u0301 \u200f\"}"},
		{"control characters escaped", `{"c": "a\u0000b\tc"}`, `{"c":"a\u0000b\tc"}`},
		{"arrays keep order", `[3, 1, 2]`, `[3,1,2]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := canonicalJSON(decode(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("canonicalJSON(%s) (-want +got):\n%s", tc.in, diff)
			}
			// The canonical form decodes to the same value.
			if diff := cmp.Diff(decode(t, tc.in), decode(t, string(got))); diff != "" {
				t.Errorf("round trip changed the value (-in +out):\n%s", diff)
			}
		})
	}
}

func TestParseIfMatch(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		want    int64
		wantErr bool
	}{
		{"absent", "", 0, false},
		{"quoted", `"1"`, 1, false},
		{"bare", `7`, 7, false},
		{"surrounding space", ` "3" `, 3, false},
		{"large", `"9223372036854775807"`, 9223372036854775807, false},
		{"zero", `"0"`, 0, true},
		{"negative", `"-1"`, 0, true},
		{"plus sign", `"+1"`, 0, true},
		{"overflow", `"9223372036854775808"`, 0, true},
		{"word", `abc`, 0, true},
		{"empty quotes", `""`, 0, true},
		{"unbalanced quote", `"1`, 0, true},
		{"doubled quotes", `""1""`, 0, true},
		{"space inside quotes", `" 1"`, 0, true},
		{"any", `*`, 0, false},
		{"list", `"1", "2"`, 0, true},
		{"hex", `"0x1"`, 0, true},
		{"fraction", `"1.0"`, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIfMatch(tc.header)
			if tc.wantErr {
				if code := strongroom.ErrorCode(err); code != strongroom.EINVALID {
					t.Fatalf("ParseIfMatch(%q) = %d, %v; want an %s error", tc.header, got, err, strongroom.EINVALID)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseIfMatch(%q) = %d, %v; want %d", tc.header, got, err, tc.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	doc := decode(t, `{"email": "a@x", "n": 1.0, "nil": null, "address": {"city": "Zürich", "geo": {"lat": 47}}, "list": [1]}`)
	tests := []struct {
		name   string
		path   string
		want   any
		wantOK bool
	}{
		{"top level", "email", "a@x", true},
		{"number as written", "n", json.Number("1.0"), true},
		{"null is present", "nil", nil, true},
		{"nested", "address.city", "Zürich", true},
		{"deeper", "address.geo.lat", json.Number("47"), true},
		{"object value", "address.geo", map[string]any{"lat": json.Number("47")}, true},
		{"missing", "phone", nil, false},
		{"missing nested", "address.zip", nil, false},
		{"through a scalar", "email.domain", nil, false},
		{"through null", "nil.x", nil, false},
		{"through an array", "list.0", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := lookup(doc, tc.path)
			if ok != tc.wantOK {
				t.Fatalf("lookup(%q) ok = %v, want %v", tc.path, ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("lookup(%q) (-want +got):\n%s", tc.path, diff)
			}
		})
	}
	if _, ok := lookup("not an object", "a"); ok {
		t.Error("lookup in a string found a field")
	}
}
