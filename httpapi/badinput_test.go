package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// Security invariant 6: bad input gets a clear error and changes nothing.

// strictSchema requires two fields, types four, and allows no others.
const strictSchema = `{"type":"object","required":["name","age"],"additionalProperties":false,"properties":{` +
	`"name":{"type":"string","minLength":1},"age":{"type":"integer","minimum":0},` +
	`"tags":{"type":"array","items":{"type":"string"}},"note":{"type":"string"}}}`

// badInput is organization A with a strict collection holding one record, a
// client, and a member to act on.
type badInput struct {
	*fixture
	st     *store.Store
	record string // a record of "strict", at version 1
	client string
	member testkit.Account
}

func newBadInput(t *testing.T, st *store.Store) *badInput {
	t.Helper()
	b := &badInput{fixture: newFixture(t, st), st: st}
	b.create(t, "/collections", map[string]any{"name": "strict", "schema": json.RawMessage(strictSchema),
		"searchable": []string{"name", "note"}})
	b.record = b.create(t, "/collections/strict/records",
		map[string]any{"data": map[string]any{"name": "first", "age": 1}})["id"].(string)
	b.client = b.newClient(t)
	b.member = b.newMember(t, "editor")
	return b
}

func (b *badInput) strict(suffix string) string { return b.records("strict") + suffix }

// state is everything organization A's Admin can see.
func (b *badInput) state(t *testing.T) string {
	t.Helper()
	s := snapshot(t, b.fixture)
	for _, p := range []string{"?limit=200", "/" + b.record} {
		s += string(testkit.MustStatus(t, call(t, b.srv, b.admin.Token, "GET", b.strict(p), nil), http.StatusOK).Body)
	}
	return s
}

// refused sends req, checks the problem (status, and errors[].path when paths is
// given or the error must have none), and checks that nothing changed: the
// organization looks the same and no success event was audited.
func (b *badInput) refused(t *testing.T, req testkit.Request, status int, paths ...string) problemDetail {
	t.Helper()
	before := b.state(t)
	head := auditHead(t, b.st, b.admin.OrgID)
	platform := auditHead(t, b.st, string(strongroom.PlatformTenant))
	p := mustProblem(t, b.srv.Do(t, req), status)
	if len(paths) == 0 {
		paths = nil
	}
	if diff := cmp.Diff(paths, errorPaths(p)); diff != "" {
		t.Errorf("errors[].path (-want +got):\n%s", diff)
	}
	for _, e := range p.Errors {
		if e.Message == "" {
			t.Errorf("error at %q has no message", e.Path)
		}
	}
	expectAudit(t, b.st, b.admin.OrgID, head, nil)
	expectAudit(t, b.st, string(strongroom.PlatformTenant), platform, nil)
	if after := b.state(t); after != before {
		t.Errorf("refused request changed organization A:\nbefore %s\nafter  %s", before, after)
	}
	return problemDetail(p.Detail)
}

// problemDetail is a problem's detail, for assertions on its wording.
type problemDetail string

func (d problemDetail) want(t *testing.T, prefix string) {
	t.Helper()
	if !strings.HasPrefix(string(d), prefix) {
		t.Errorf("detail %q, want it to start with %q", d, prefix)
	}
}

// writeRoute is a write endpoint with a valid body; the refused variants are
// derived from it.
type writeRoute struct {
	name, method, path string
	token              string
	header             map[string]string
	valid              string
	contentType        string
	structBody         bool // decoded into a struct: unknown fields and wrong types are refused
	wrongTypes         []wrongType
}

type wrongType struct{ body, path string }

func (b *badInput) writeRoutes(t *testing.T) []writeRoute {
	outsider := b.newUser(t)
	ifMatch := map[string]string{"If-Match": `"1"`}
	return []writeRoute{
		{name: "signup", method: "POST", path: "/api/v1/signup", structBody: true,
			valid: `{"email":"refused@c.example","password":"` + password + `","organization":"Refused Org"}`,
			wrongTypes: []wrongType{
				{`{"email":5,"password":"` + password + `","organization":"Refused Org"}`, "/email"},
				{`{"email":"refused@c.example","password":["x"],"organization":"Refused Org"}`, "/password"},
				{`{"email":"refused@c.example","password":"` + password + `","organization":{"name":"x"}}`, "/organization"},
			}},
		{name: "create collection", method: "POST", path: b.org("/collections"), token: b.admin.Token, structBody: true,
			valid: `{"name":"refused_coll","schema":{"type":"object"},"searchable":["a"]}`,
			wrongTypes: []wrongType{
				{`{"name":5,"schema":{"type":"object"}}`, "/name"},
				{`{"name":"refused_coll","schema":{"type":"object"},"searchable":"a"}`, "/searchable"},
				{`{"name":"refused_coll","schema":{"type":"object"},"searchable":[1]}`, "/searchable"},
			}},
		{name: "create record", method: "POST", path: b.strict(""), token: b.admin.Token, structBody: true,
			valid: `{"data":{"name":"refused","age":2}}`,
			wrongTypes: []wrongType{
				{`{"data":{"name":"refused","age":2},"client_id":5}`, "/client_id"},
				{`{"data":{"name":"refused","age":2},"client_id":["` + b.client + `"]}`, "/client_id"},
			}},
		{name: "replace record", method: "PUT", path: b.strict("/" + b.record), token: b.admin.Token, header: ifMatch, structBody: true,
			valid: `{"data":{"name":"refused","age":2}}`,
			wrongTypes: []wrongType{
				{`{"data":{"name":"refused","age":2},"client_id":true}`, "/client_id"},
			}},
		{name: "patch record", method: "PATCH", path: b.strict("/" + b.record), token: b.admin.Token,
			contentType: "application/merge-patch+json", valid: `{"name":"refused"}`},
		{name: "create client", method: "POST", path: b.org("/clients"), token: b.admin.Token, structBody: true,
			valid: `{"name":"refused client"}`,
			wrongTypes: []wrongType{
				{`{"name":5}`, "/name"},
				{`{"name":{"first":"a"}}`, "/name"},
			}},
		{name: "add member", method: "POST", path: b.org("/members"), token: b.admin.Token, structBody: true,
			valid: `{"email":"` + outsider.Email + `","role":"viewer"}`,
			wrongTypes: []wrongType{
				{`{"email":5,"role":"viewer"}`, "/email"},
				{`{"email":"` + outsider.Email + `","role":["admin"]}`, "/role"},
			}},
		{name: "set member clients", method: "PUT", path: b.org("/members/" + b.member.UserID + "/clients"), token: b.admin.Token, structBody: true,
			valid: `{"client_ids":["` + b.client + `"]}`,
			wrongTypes: []wrongType{
				{`{"client_ids":"x"}`, "/client_ids"},
				{`{"client_ids":[5]}`, "/client_ids"},
				{`{"client_ids":{"a":"b"}}`, "/client_ids"},
			}},
	}
}

// TestBadRequestBodies sends every write endpoint malformed, mistyped,
// oversized and mislabeled bodies.
func TestBadRequestBodies(t *testing.T) {
	huge := `{"name":"` + strings.Repeat("x", 10<<20) + `"}`
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			b := newBadInput(t, e.Open(t))
			routes := b.writeRoutes(t)
			for _, rt := range routes {
				req := func(body, contentType string) testkit.Request {
					if contentType == "" {
						contentType = rt.contentType
					}
					return testkit.Request{Method: rt.method, Path: rt.path, Token: rt.token, Header: rt.header,
						Body: body, ContentType: contentType}
				}
				t.Run(rt.name, func(t *testing.T) {
					for _, tc := range []struct {
						name, body, detail string
					}{
						{"truncated JSON", `{"name": "x",`, "malformed JSON"},
						{"unquoted key", `{name: "x"}`, "malformed JSON"},
						{"single quotes", `{'name': 'x'}`, "malformed JSON"},
						{"trailing comma", `{"name": "x",}`, "malformed JSON"},
						{"second value", rt.valid + ` {}`, "the request body has data after the JSON value"},
						{"trailing garbage", rt.valid + `x`, "the request body has data after the JSON value"},
						{"trailing bracket", rt.valid + `]`, "the request body has data after the JSON value"},
						{"empty body", ``, "the request body is empty"},
						{"only whitespace", " \n\t ", "the request body is empty"},
						{"invalid UTF-8", "{\"name\":\"\xff\xfe\"}", "the request body is not valid UTF-8"},
						{"invalid UTF-8 in a key", "{\"\xc3\x28\":1}", "the request body is not valid UTF-8"},
					} {
						t.Run(tc.name, func(t *testing.T) {
							b.refused(t, req(tc.body, ""), http.StatusBadRequest).want(t, tc.detail)
						})
					}
					for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
						"application/json; charset=latin1", "not a media type"} {
						t.Run("Content-Type "+ct, func(t *testing.T) {
							b.refused(t, req(rt.valid, ct), http.StatusUnsupportedMediaType)
						})
					}
					t.Run("10 MiB body", func(t *testing.T) {
						b.refused(t, req(huge, ""), http.StatusRequestEntityTooLarge).want(t, "the request body is larger than 1048576 bytes")
						testkit.MustStatus(t, call(t, b.srv, "", "GET", "/healthz", nil), http.StatusOK)
					})
					if !rt.structBody {
						return
					}
					t.Run("unknown field", func(t *testing.T) {
						b.refused(t, req(`{"extra":1,`+rt.valid[1:], ""), http.StatusBadRequest, "/extra").want(t, "unknown field")
					})
					// encoding/json matches keys case-insensitively and lets the
					// last of duplicate keys win; a strict API accepts neither.
					key := rt.valid[2 : 2+strings.Index(rt.valid[2:], `"`)]
					t.Run("field name in other case", func(t *testing.T) {
						upper := strings.ToUpper(key[:1]) + key[1:]
						b.refused(t, req(`{"`+upper+rt.valid[2+len(key):], ""), http.StatusBadRequest, "/"+upper).want(t, "unknown field")
					})
					t.Run("duplicate fields", func(t *testing.T) {
						inner := rt.valid[1 : len(rt.valid)-1]
						b.refused(t, req("{"+inner+","+inner+"}", ""), http.StatusBadRequest, "/"+key).want(t, "duplicate field")
					})
					for i, wt := range rt.wrongTypes {
						t.Run(fmt.Sprintf("wrong type %d", i), func(t *testing.T) {
							b.refused(t, req(wt.body, ""), http.StatusBadRequest, wt.path).want(t, "wrong type of a JSON value")
						})
					}
				})
			}

			// The valid bodies all succeed: each refusal above was for its defect.
			for _, rt := range routes {
				r := b.srv.Do(t, testkit.Request{Method: rt.method, Path: rt.path, Token: rt.token, Header: rt.header,
					Body: rt.valid, ContentType: rt.contentType})
				if r.Status < 200 || r.Status > 299 {
					t.Errorf("%s with its valid body: status %d: %s", rt.name, r.Status, r.Body)
				}
			}
		})
	}
}

// TestSchemaViolations: every failing path is listed, under /data.
func TestSchemaViolations(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			b := newBadInput(t, e.Open(t))
			rec := b.strict("/" + b.record)
			three := `{"name":"","age":-1,"tags":["a",2]}`
			tests := []struct {
				name   string
				req    testkit.Request
				status int
				paths  []string
			}{
				{"create: three constraints", testkit.Request{Method: "POST", Path: b.strict(""), Body: `{"data":` + three + `}`},
					422, []string{"/data/age", "/data/name", "/data/tags/1"}},
				{"create: three types", testkit.Request{Method: "POST", Path: b.strict(""), Body: `{"data":{"name":5,"age":"x","tags":"y"}}`},
					422, []string{"/data/age", "/data/name", "/data/tags"}},
				{"create: missing and extra", testkit.Request{Method: "POST", Path: b.strict(""), Body: `{"data":{"zz":1}}`},
					422, []string{"/data", "/data"}},
				{"create: integer written as fraction", testkit.Request{Method: "POST", Path: b.strict(""), Body: `{"data":{"name":"x","age":1.5}}`},
					422, []string{"/data/age"}},
				{"replace: three constraints", testkit.Request{Method: "PUT", Path: rec, Body: `{"data":` + three + `}`},
					422, []string{"/data/age", "/data/name", "/data/tags/1"}},
				{"patch: result breaks three constraints", testkit.Request{Method: "PATCH", Path: rec, Body: three},
					422, []string{"/data/age", "/data/name", "/data/tags/1"}},
				{"patch: removes a required field", testkit.Request{Method: "PATCH", Path: rec, Body: `{"age":null}`},
					422, []string{"/data"}},
				{"patch: adds an unknown field", testkit.Request{Method: "PATCH", Path: rec, Body: `{"zz":{"a":1}}`},
					422, []string{"/data"}},
			}
			for _, kind := range []string{`"x"`, `[1]`, `5`, `true`, `null`} {
				tests = append(tests,
					struct {
						name   string
						req    testkit.Request
						status int
						paths  []string
					}{"create: data " + kind, testkit.Request{Method: "POST", Path: b.strict(""), Body: `{"data":` + kind + `}`}, 422, []string{"/data"}},
					struct {
						name   string
						req    testkit.Request
						status int
						paths  []string
					}{"replace: data " + kind, testkit.Request{Method: "PUT", Path: rec, Body: `{"data":` + kind + `}`}, 422, []string{"/data"}},
					struct {
						name   string
						req    testkit.Request
						status int
						paths  []string
					}{"patch: " + kind, testkit.Request{Method: "PATCH", Path: rec, Body: kind}, 422, []string{""}},
				)
			}
			tests = append(tests, []struct {
				name   string
				req    testkit.Request
				status int
				paths  []string
			}{
				{"create: no data", testkit.Request{Method: "POST", Path: b.strict(""), Body: `{}`}, 422, []string{"/data"}},
				{"replace: no data", testkit.Request{Method: "PUT", Path: rec, Body: `{"client_id":null}`}, 422, []string{"/data"}},
				{"create: client not an ID", testkit.Request{Method: "POST", Path: b.strict(""),
					Body: `{"data":{"name":"x","age":1},"client_id":"x"}`}, 422, []string{"/client_id"}},
				{"create: unknown client", testkit.Request{Method: "POST", Path: b.strict(""),
					Body: `{"data":{"name":"x","age":1},"client_id":"00000000-0000-7000-8000-000000000000"}`}, 422, []string{"/client_id"}},
				{"replace: unknown client", testkit.Request{Method: "PUT", Path: rec,
					Body: `{"data":{"name":"x","age":1},"client_id":"00000000-0000-7000-8000-000000000000"}`}, 422, []string{"/client_id"}},
				{"member clients: not IDs", testkit.Request{Method: "PUT", Path: b.org("/members/" + b.member.UserID + "/clients"),
					Body: `{"client_ids":["` + b.client + `","x"]}`}, 422, []string{"/client_ids/1"}},
				{"member clients: unknown client", testkit.Request{Method: "PUT", Path: b.org("/members/" + b.member.UserID + "/clients"),
					Body: `{"client_ids":["00000000-0000-7000-8000-000000000000"]}`}, 422, []string{"/client_ids"}},
				{"member clients: missing", testkit.Request{Method: "PUT", Path: b.org("/members/" + b.member.UserID + "/clients"),
					Body: `{}`}, 422, []string{"/client_ids"}},
				{"collection: bad schema", testkit.Request{Method: "POST", Path: b.org("/collections"),
					Body: `{"name":"bad_schema","schema":{"type":"no such type"}}`}, 422, []string{"/schema"}},
				{"collection: bad name", testkit.Request{Method: "POST", Path: b.org("/collections"),
					Body: `{"name":"Bad Name","schema":{"type":"object"}}`}, 422, []string{"/name"}},
				{"collection: bad searchable field", testkit.Request{Method: "POST", Path: b.org("/collections"),
					Body: `{"name":"ok_name","schema":{"type":"object"},"searchable":["a","b c"]}`}, 422, []string{"/searchable/1"}},
				{"client: control characters", testkit.Request{Method: "POST", Path: b.org("/clients"), Body: `{"name":"a\u0000b"}`},
					422, []string{"/name"}},
				{"client: blank", testkit.Request{Method: "POST", Path: b.org("/clients"), Body: `{"name":"   "}`}, 422, []string{"/name"}},
				{"member: bad role", testkit.Request{Method: "POST", Path: b.org("/members"), Body: `{"email":"` + b.outsider.Email + `","role":"owner"}`},
					422, []string{"/role"}},
				{"member: no such account", testkit.Request{Method: "POST", Path: b.org("/members"), Body: `{"email":"nobody@x.example","role":"viewer"}`},
					422, []string{"/email"}},
				{"signup: short password", testkit.Request{Method: "POST", Path: "/api/v1/signup",
					Body: `{"email":"refused@c.example","password":"short","organization":"Refused Org"}`}, 422, []string{"/password"}},
				{"signup: bad e-mail", testkit.Request{Method: "POST", Path: "/api/v1/signup",
					Body: `{"email":"Refused <refused@c.example>","password":"` + password + `","organization":"Refused Org"}`}, 422, []string{"/email"}},
			}...)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					if tc.req.Path != "/api/v1/signup" {
						tc.req.Token = b.admin.Token
					}
					b.refused(t, tc.req, tc.status, tc.paths...)
				})
			}
			// The refused signups created no account.
			testkit.MustStatus(t, call(t, b.srv, "", "POST", "/api/v1/signup", map[string]string{
				"email": "refused@c.example", "password": password, "organization": "Refused Org"}), http.StatusCreated)
		})
	}
}

func TestIfMatch(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			b := newBadInput(t, e.Open(t))
			rec := b.strict("/" + b.record)
			bodies := map[string]string{"PUT": `{"data":{"name":"changed","age":5}}`, "PATCH": `{"name":"changed"}`, "DELETE": ""}
			for _, method := range []string{"PUT", "PATCH", "DELETE"} {
				for _, h := range []string{`abc`, `"0"`, `"-1"`, `"1", "2"`, `"1`, `"+1"`, `"1.0"`, `""`} {
					t.Run(method+" "+h, func(t *testing.T) {
						req := testkit.Request{Method: method, Path: rec, Token: b.admin.Token, Header: map[string]string{"If-Match": h}}
						if bodies[method] != "" {
							req.Body = bodies[method]
						}
						b.refused(t, req, http.StatusBadRequest).want(t, "If-Match must be the record's ETag")
					})
				}
				for _, h := range []string{`"2"`, `"999"`, `2`} {
					t.Run(method+" stale "+h, func(t *testing.T) {
						req := testkit.Request{Method: method, Path: rec, Token: b.admin.Token, Header: map[string]string{"If-Match": h}}
						if bodies[method] != "" {
							req.Body = bodies[method]
						}
						b.refused(t, req, http.StatusPreconditionFailed).want(t, "the record is at version 1")
					})
				}
				// A weak ETag never matches If-Match (RFC 9110 §13.1.1).
				t.Run(method+` weak W/"1"`, func(t *testing.T) {
					req := testkit.Request{Method: method, Path: rec, Token: b.admin.Token, Header: map[string]string{"If-Match": `W/"1"`}}
					if bodies[method] != "" {
						req.Body = bodies[method]
					}
					b.refused(t, req, http.StatusPreconditionFailed).want(t, "a weak ETag never matches")
				})
			}
			// Bare and quoted forms of the current version both match.
			testkit.MustStatus(t, b.srv.Do(t, testkit.Request{Method: "PATCH", Path: rec, Token: b.admin.Token,
				Header: map[string]string{"If-Match": `1`}, Body: `{"note":"a"}`}), http.StatusOK)
			testkit.MustStatus(t, b.srv.Do(t, testkit.Request{Method: "PATCH", Path: rec, Token: b.admin.Token,
				Header: map[string]string{"If-Match": `"2"`}, Body: `{"note":"b"}`}), http.StatusOK)
		})
	}
}

// hostileText is stored and returned byte for byte.
var hostileText = []string{
	`'; DROP TABLE records; --`,
	`" OR 1=1 --`,
	`' OR '1'='1`,
	`back\slash \\ double \' \" \u0000 literal`,
	`%_* LIKE wildcards`,
	"Zoë 北京 🙂",
	"مرحبا بالعالم",
	"שלום \u200f(RLM) \u202eoverride",
	"e\u0301 n\u0303 combining Z\u0351\u0352",
	"👩‍💻 ZWJ family 👨‍👩‍👧",
	`<script>alert("x")</script> & &amp; <b>`,
	"line\u2028separator\u2029paragraph",
	"tab\tand\nnewline in record data",
}

func TestTextStoredVerbatim(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			b := newBadInput(t, e.Open(t))
			for i, s := range hostileText {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					// Record data: create, read, list.
					r := testkit.MustStatus(t, call(t, b.srv, b.admin.Token, "POST", b.strict(""),
						map[string]any{"data": map[string]any{"name": s, "age": 1, "tags": []string{s}, "note": s}}), http.StatusCreated)
					rec := decodeRecord(t, r)
					got := testkit.MustStatus(t, call(t, b.srv, b.admin.Token, "GET", b.strict("/"+rec.ID), nil), http.StatusOK)
					for _, d := range []map[string]any{rec.Data, decodeRecord(t, got).Data} {
						if d["name"] != s || d["note"] != s || d["tags"].([]any)[0] != s {
							t.Errorf("record data %q, want %q", d, s)
						}
					}
					if !strings.ContainsAny(s, "\t\n") {
						// Names: clients and organizations refuse control characters.
						r = testkit.MustStatus(t, call(t, b.srv, b.admin.Token, "POST", b.org("/clients"), map[string]string{"name": s}), http.StatusCreated)
						c := r.JSON(t)
						got := testkit.MustStatus(t, call(t, b.srv, b.admin.Token, "GET", b.org("/clients/"+c["id"].(string)), nil), http.StatusOK).JSON(t)
						if c["name"] != s || got["name"] != s {
							t.Errorf("client name %q / %q, want %q", c["name"], got["name"], s)
						}
						acct := b.srv.Signup(t, fmt.Sprintf("verbatim%d@c.example", i), s)
						org := testkit.MustStatus(t, call(t, b.srv, acct.Token, "GET", "/api/v1/orgs/"+acct.OrgID, nil), http.StatusOK).JSON(t)
						if org["name"] != s {
							t.Errorf("organization name %q, want %q", org["name"], s)
						}
					}
				})
			}
			// Every record is still there: nothing was interpreted as SQL.
			p := list(t, b.fixture, b.admin.Token, "strict", url.Values{"limit": {"200"}})
			if len(p.Items) != len(hostileText)+1 {
				t.Errorf("%d records listed, want %d", len(p.Items), len(hostileText)+1)
			}
		})
	}
}

// TestFilterMetacharacters: SQL metacharacters in a filter literal are an
// equality match on the exact value, nothing more.
func TestFilterMetacharacters(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			b := newBadInput(t, e.Open(t))
			values := append([]string{`'; DROP TABLE records; -- `, `" OR 1=1`, `%`, `a`, `abc`, `\`, `\\`}, hostileText...)
			byNote := map[string]string{}
			for _, v := range values {
				r := testkit.MustStatus(t, call(t, b.srv, b.admin.Token, "POST", b.strict(""),
					map[string]any{"data": map[string]any{"name": "x", "age": 1, "note": v}}), http.StatusCreated)
				byNote[v] = decodeRecord(t, r).ID
			}
			for _, v := range values {
				t.Run(v, func(t *testing.T) {
					lit, err := json.Marshal(v)
					if err != nil {
						t.Fatal(err)
					}
					p := list(t, b.fixture, b.admin.Token, "strict", url.Values{"filter": {"note == " + string(lit)}})
					if diff := cmp.Diff([]string{byNote[v]}, ids(p.Items)); diff != "" {
						t.Errorf("filter note == %s (-want +got):\n%s", lit, diff)
					}
				})
			}
			if p := list(t, b.fixture, b.admin.Token, "strict", url.Values{"limit": {"200"}}); len(p.Items) != len(values)+1 {
				t.Errorf("%d records after filtering, want %d", len(p.Items), len(values)+1)
			}
		})
	}
}

func TestBadListQueries(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			b := newBadInput(t, e.Open(t))
			tests := []struct {
				name, query, detail string
			}{
				{"single-quoted string", "filter=" + url.QueryEscape(`note == 'x'`), "filter: "},
				{"assignment", "filter=" + url.QueryEscape(`note = "x"`), "filter: "},
				{"or", "filter=" + url.QueryEscape(`note == "x" || 1 == 1`), "filter: "},
				{"stacked statement", "filter=" + url.QueryEscape(`note == "x"; DROP TABLE records; --`), "filter: "},
				{"SQL comparison", "filter=" + url.QueryEscape(`1=1`), "filter: "},
				{"unterminated string", "filter=" + url.QueryEscape(`note == "x`), "filter: "},
				{"missing value", "filter=" + url.QueryEscape(`note ==`), "filter: "},
				{"object value", "filter=" + url.QueryEscape(`note == {"$ne": null}`), "filter: "},
				{"invalid UTF-8", "filter=" + url.QueryEscape("note == \"\xff\""), "filter: "},
				{"too long", "filter=" + url.QueryEscape(`note == "`+strings.Repeat("A", 5000)+`"`), "filter: "},
				{"not searchable", "filter=" + url.QueryEscape(`age == 1`), `filter: field "age" is not searchable`},
				{"not searchable, nested", "filter=" + url.QueryEscape(`note == "x" && tags.a == 1`), `filter: field "tags.a" is not searchable`},
				{"cursor not base64", "cursor=!!!", "cursor is not valid"},
				{"cursor not an ID", "cursor=YWJj", "cursor is not valid"},
				{"cursor padded", "cursor=" + url.QueryEscape(encodeCursor(b.record)+"=="), "cursor is not valid"},
				{"cursor upper-case ID", "cursor=" + encodeCursor(strings.ToUpper(b.record)), "cursor is not valid"},
				{"limit 0", "limit=0", "limit must be"},
				{"limit 201", "limit=201", "limit must be"},
				{"limit negative", "limit=-1", "limit must be"},
				{"limit word", "limit=abc", "limit must be"},
				{"limit fraction", "limit=1.5", "limit must be"},
				{"limit huge", "limit=99999999999999999999", "limit must be"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					d := b.refused(t, testkit.Request{Method: "GET", Path: b.strict("?" + tc.query), Token: b.admin.Token}, http.StatusBadRequest)
					d.want(t, tc.detail)
					for _, leak := range []string{"DROP", "SELECT", "sqlite", "SQLSTATE", "pq:", "AAAAAAAAAA", "$ne"} {
						if strings.Contains(string(d), leak) {
							t.Errorf("detail %q repeats input or leaks internals (%q)", d, leak)
						}
					}
					if len(d) > 120 {
						t.Errorf("detail is %d bytes long", len(d))
					}
				})
			}
			for _, q := range []string{"limit=1", "limit=200", "cursor=" + encodeCursor(b.record)} {
				testkit.MustStatus(t, call(t, b.srv, b.admin.Token, "GET", b.strict("?"+q), nil), http.StatusOK)
			}
		})
	}
}

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// TestNonUUIDPathParams: a path parameter that cannot be an ID is not found.
func TestNonUUIDPathParams(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			b := newBadInput(t, e.Open(t))
			bad := []string{"not-a-uuid", strings.ToUpper(b.record), "{" + b.record + "}", b.record + "0",
				url.PathEscape("' OR 1=1 --"), "..%2f..%2fetc", "%00"}
			var tests []testkit.Request
			for _, id := range bad {
				rec, member, client := b.strict("/"+id), b.org("/members/"+id), b.org("/clients/"+id)
				tests = append(tests,
					testkit.Request{Method: "GET", Path: rec},
					testkit.Request{Method: "PUT", Path: rec, Body: `{"data":{"name":"x","age":1}}`},
					testkit.Request{Method: "PATCH", Path: rec, Body: `{"name":"x"}`},
					testkit.Request{Method: "DELETE", Path: rec},
					testkit.Request{Method: "GET", Path: member},
					testkit.Request{Method: "PATCH", Path: member, Body: `{"role":"viewer"}`},
					testkit.Request{Method: "DELETE", Path: member},
					testkit.Request{Method: "PUT", Path: member + "/clients", Body: `{"client_ids":[]}`},
					testkit.Request{Method: "GET", Path: client},
					testkit.Request{Method: "PATCH", Path: client, Body: `{"name":"renamed"}`},
					testkit.Request{Method: "DELETE", Path: client},
					testkit.Request{Method: "GET", Path: "/api/v1/orgs/" + id},
					testkit.Request{Method: "POST", Path: "/api/v1/orgs/" + id + "/clients", Body: `{"name":"x"}`},
				)
			}
			for _, coll := range []string{"Strict", "no_such", "strict%20", "a-b"} {
				tests = append(tests,
					testkit.Request{Method: "GET", Path: b.org("/collections/" + coll)},
					testkit.Request{Method: "DELETE", Path: b.org("/collections/" + coll)},
					testkit.Request{Method: "POST", Path: b.org("/collections/" + coll + "/records"), Body: `{"data":{"name":"x","age":1}}`},
					testkit.Request{Method: "GET", Path: b.org("/collections/" + coll + "/records/" + b.record)},
				)
			}
			for _, req := range tests {
				t.Run(req.Method+" "+req.Path, func(t *testing.T) {
					req.Token = b.admin.Token
					b.refused(t, req, http.StatusNotFound)
				})
			}
		})
	}
}
