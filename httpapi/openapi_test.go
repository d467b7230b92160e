package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/access"
)

// The tests in this file keep openapi.json true to the route table: every route
// is documented with its method, path, summary, permission and security, every
// documented operation is a route, and the document is self-contained.

// openapiDoc is the part of an OpenAPI 3.1 document the tests read. The whole
// document is also decoded as a generic value to resolve references.
type openapiDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Servers []struct {
		URL string `json:"url"`
	} `json:"servers"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

type openapiParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type openapiOperation struct {
	OperationID string   `json:"operationId"`
	Summary     string   `json:"summary"`
	Tags        []string `json:"tags"`
	// Security is a pointer so that a missing field (nil) differs from an
	// explicit empty list (public).
	Security   *[]map[string][]string     `json:"security"`
	Permission *string                    `json:"x-permission"`
	Parameters []openapiParam             `json:"parameters"`
	Responses  map[string]json.RawMessage `json:"responses"`
}

// openapiMethods are the path item fields that hold operations.
var openapiMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) (*openapiDoc, any) {
	t.Helper()
	var doc openapiDoc
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	var raw any
	if err := json.Unmarshal(openapiJSON, &raw); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return &doc, raw
}

// documentedOps returns the document's operations keyed "METHOD /path", and the
// path-level parameters of each path.
func documentedOps(t *testing.T, doc *openapiDoc) (map[string]openapiOperation, map[string][]openapiParam) {
	t.Helper()
	ops := map[string]openapiOperation{}
	pathParams := map[string][]openapiParam{}
	for path, item := range doc.Paths {
		for field, body := range item {
			switch {
			case field == "parameters":
				var ps []openapiParam
				if err := json.Unmarshal(body, &ps); err != nil {
					t.Fatalf("paths[%q].parameters: %v", path, err)
				}
				pathParams[path] = ps
			case slices.Contains(openapiMethods, field):
				var op openapiOperation
				if err := json.Unmarshal(body, &op); err != nil {
					t.Fatalf("paths[%q].%s: %v", path, field, err)
				}
				ops[strings.ToUpper(field)+" "+path] = op
			}
		}
	}
	return ops, pathParams
}

func newTestServer(t *testing.T) *Server {
	t.Helper()
	// New does not use the service; no request is served here.
	s, err := New(nil, nil, Options{}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestOpenAPIDocument(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	type header struct {
		OpenAPI, Title, Server, BearerType, BearerScheme string
		VersionSet                                       bool
	}
	got := header{OpenAPI: doc.OpenAPI, Title: doc.Info.Title, VersionSet: doc.Info.Version != "",
		BearerType: doc.Components.SecuritySchemes["bearer"].Type, BearerScheme: doc.Components.SecuritySchemes["bearer"].Scheme}
	if len(doc.Servers) == 1 {
		got.Server = doc.Servers[0].URL
	}
	want := header{OpenAPI: "3.1.0", Title: "Strongroom", Server: "/", BearerType: "http", BearerScheme: "bearer", VersionSet: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("document header (-want +got):\n%s", diff)
	}
}

// TestOpenAPINoDuplicateKeys catches a hand-editing mistake that encoding/json
// silently accepts: an object with the same key twice (the last one wins).
func TestOpenAPINoDuplicateKeys(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader(openapiJSON))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next token in this object is a key
	}
	var stack []*frame
	var where []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading openapi.json: %v", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack, where = stack[:len(stack)-1], where[:len(where)-1]
				continue
			}
			k, ok := tok.(string)
			if !ok {
				t.Fatalf("object key %v is not a string", tok)
			}
			if top.keys[k] {
				at := ""
				for _, w := range where[:len(where)-1] {
					at += "/" + escapePointer(w)
				}
				t.Errorf("duplicate key %q in the object at %q", k, at)
			}
			top.keys[k] = true
			top.key = false
			where[len(where)-1] = k
			continue
		}
		if top != nil && top.object {
			top.key = true // a value was read; a key (or '}') comes next
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
			where = append(where, "")
		case json.Delim('['):
			stack = append(stack, &frame{})
			where = append(where, "[]")
		case json.Delim(']'):
			stack, where = stack[:len(stack)-1], where[:len(where)-1]
		}
	}
}

// TestOpenAPIRoutes compares the route table with the documented operations in
// both directions.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	ops, _ := documentedOps(t, doc)
	var routes, documented []string
	for _, rt := range newTestServer(t).Routes() {
		routes = append(routes, rt.Method+" "+rt.Path)
	}
	for k := range ops {
		documented = append(documented, k)
	}
	slices.Sort(routes)
	slices.Sort(documented)
	if diff := cmp.Diff(routes, documented); diff != "" {
		t.Errorf("routes (-) and documented operations (+) differ:\n%s", diff)
	}
}

// TestOpenAPIOperations checks each route's operation against the route table.
func TestOpenAPIOperations(t *testing.T) {
	doc, raw := loadOpenAPI(t)
	ops, pathParams := documentedOps(t, doc)
	ids := map[string]string{}
	for _, rt := range newTestServer(t).Routes() {
		key := rt.Method + " " + rt.Path
		t.Run(key, func(t *testing.T) {
			op, ok := ops[key]
			if !ok {
				t.Fatalf("not documented")
			}
			if op.OperationID == "" {
				t.Errorf("no operationId")
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %q is also used by %s", op.OperationID, other)
			}
			ids[op.OperationID] = key
			if len(op.Tags) == 0 {
				t.Errorf("no tags")
			}
			if op.Summary != rt.Summary {
				t.Errorf("summary = %q, want the route table's %q", op.Summary, rt.Summary)
			}
			if op.Permission == nil {
				t.Errorf("no x-permission, want %q", rt.Perm)
			} else if access.Permission(*op.Permission) != rt.Perm {
				t.Errorf("x-permission = %q, want %q", *op.Permission, rt.Perm)
			}

			wantSecurity := []map[string][]string{{"bearer": {}}}
			if rt.Perm == access.Public {
				wantSecurity = []map[string][]string{}
			}
			if op.Security == nil {
				t.Errorf("no security, want %v (an operation states its own, even when public)", wantSecurity)
			} else if diff := cmp.Diff(wantSecurity, *op.Security); diff != "" {
				t.Errorf("security (-want +got):\n%s", diff)
			}

			// Path parameters: each one in the template is declared (at the path or
			// the operation), required, and nothing else is declared in the path.
			want := templateParams(rt.Path)
			var got []string
			for _, p := range append(slices.Clone(pathParams[rt.Path]), op.Parameters...) {
				p = resolveParam(t, raw, p)
				if p.In != "path" {
					continue
				}
				if !p.Required {
					t.Errorf("path parameter %q is not required", p.Name)
				}
				got = append(got, p.Name)
			}
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("path parameters of %s (-template +declared):\n%s", rt.Path, diff)
			}

			checkResponses(t, op, rt.Perm)
		})
	}
}

// checkResponses checks that an operation documents at least one success (2xx,
// or a 3xx for routes that answer browsers with a redirect, such as a sign-in
// start or callback) and, when it needs credentials, the 401 it answers
// without them.
func checkResponses(t *testing.T, op openapiOperation, perm access.Permission) {
	t.Helper()
	var success bool
	for code := range op.Responses {
		if code == "default" {
			continue
		}
		n, err := strconv.Atoi(code)
		if err != nil || n < 100 || n > 599 {
			t.Errorf("response %q is not a status code", code)
			continue
		}
		if n >= 200 && n < 400 {
			success = true
		}
	}
	if !success {
		t.Errorf("no 2xx or 3xx response")
	}
	if _, ok := op.Responses["401"]; perm != access.Public && !ok {
		t.Errorf("no 401 response for a route that needs credentials")
	}
}

var templateParam = regexp.MustCompile(`\{([^}]*)\}`)

// templateParams returns the sorted wildcard names of a ServeMux pattern path,
// without the "..." of a rest wildcard and without the {$} anchor.
func templateParams(path string) []string {
	var names []string
	for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
		if m[1] == "$" {
			continue
		}
		names = append(names, strings.TrimSuffix(m[1], "..."))
	}
	slices.Sort(names)
	return names
}

// resolveParam follows a parameter's $ref within the document.
func resolveParam(t *testing.T, raw any, p openapiParam) openapiParam {
	t.Helper()
	for seen := 0; p.Ref != ""; seen++ {
		if seen > 10 {
			t.Fatalf("parameter reference loop at %q", p.Ref)
		}
		v, err := resolvePointer(raw, p.Ref)
		if err != nil {
			t.Fatalf("parameter %s: %v", p.Ref, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p = openapiParam{}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("parameter: %v", err)
		}
	}
	return p
}

// TestOpenAPIRefs checks that every $ref points inside the document and
// resolves.
func TestOpenAPIRefs(t *testing.T) {
	_, raw := loadOpenAPI(t)
	refs := map[string][]string{} // ref -> where it is used
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				refs[r] = append(refs[r], at)
			}
			for k, c := range v {
				walk(c, at+"/"+escapePointer(k))
			}
		case []any:
			for i, c := range v {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(raw, "")
	if len(refs) == 0 {
		t.Fatal("no $ref found; the walk is broken")
	}
	for ref, uses := range refs {
		t.Run(ref, func(t *testing.T) {
			if _, err := resolvePointer(raw, ref); err != nil {
				t.Errorf("%v (used at %s)", err, strings.Join(uses, ", "))
			}
		})
	}
}

func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// resolvePointer resolves a same-document reference "#/a/b" (RFC 6901).
func resolvePointer(doc any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("reference %q is not within the document", ref)
	}
	if ptr == "" {
		return doc, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("reference %q is not a JSON Pointer", ref)
	}
	v := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("reference %q does not resolve: no %q", ref, tok)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("reference %q does not resolve: bad index %q", ref, tok)
			}
			v = c[i]
		default:
			return nil, fmt.Errorf("reference %q does not resolve: %q is inside a scalar", ref, tok)
		}
	}
	return v, nil
}

// TestOpenAPIServed checks that the route serving the document is declared
// public, so that clients can fetch it before signing in.
func TestOpenAPIServed(t *testing.T) {
	for _, rt := range newTestServer(t).Routes() {
		if rt.Method == http.MethodGet && rt.Path == "/api/openapi.json" {
			if rt.Perm != access.Public {
				t.Errorf("GET /api/openapi.json needs %q, want public", rt.Perm)
			}
			return
		}
	}
	t.Errorf("no GET /api/openapi.json route")
}
