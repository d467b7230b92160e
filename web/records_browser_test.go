package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"strongroom.dev/strongroom/internal/testkit"
)

// browserSchema: a collection with every kind of input the record form
// generates, and a rule (minimum) only the service's schema check enforces.
const browserSchema = `{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "title": "Full name"},
    "email": {"type": "string"},
    "age": {"type": "integer", "minimum": 0},
    "plan": {"enum": ["free", "pro"]},
    "active": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string"}}
  },
  "required": ["name", "email"]
}`

// TestConsoleCollectionsAndRecords creates a collection and records in the
// browser, filters them, edits one with a validation error shown beside the
// field and then fixes it, and deletes one through the confirmation page.
func TestConsoleCollectionsAndRecords(t *testing.T) {
	srv := consoleServer(t)
	b := newTab(t, testkit.NewBrowser(t), srv.URL)
	signUp(t, b, "rita@example.com", "Rita Records")
	org := b.text("#org-id")
	b.submit(`nav a[href$="/collections"]`, "#no-collections")
	b.shot("collections-empty")

	// A collection: first a name the service refuses, then a good one.
	b.fill("name", "Customers", "searchable", "email, plan")
	b.set("#f-schema", browserSchema)
	b.submit(`form[action$="/collections"] button[type=submit]`, "#f-name-error")
	if got := b.text("#f-name-error"); !strings.Contains(got, "lower-case") {
		t.Errorf("name error: %q", got)
	}
	b.shot("collections-invalid")
	b.fill("name", "customers")
	b.submit(`form[action$="/collections"] button[type=submit]`, "#no-records")
	if got := b.text(".flash"); !strings.Contains(got, "collection was created") {
		t.Errorf("flash: %q", got)
	}
	b.shot("records-empty")

	// Three records through the generated form.
	for _, r := range []struct{ name, email, age, plan, active, tags string }{
		{"Ada Lovelace", "ada@example.com", "36", `"pro"`, "true", `["math", "poetry"]`},
		{"Bob Builder", "bob@example.com", "", `"free"`, "false", ""},
		{"Cy Young", "cy@example.com", "44", `"pro"`, "", ""},
	} {
		b.submit("#new-record", "#p0")
		b.fill("p0", r.name, "p1", r.email, "p2", r.age)
		b.set("#p3", r.plan, "#p4", r.active, "#p5", r.tags)
		b.submit(`form.record-form button[type=submit]`, "#record-id")
		if got := b.text(".flash"); !strings.Contains(got, "record was created") {
			t.Errorf("flash after creating %s: %q", r.name, got)
		}
		b.submit(`.crumbs a[href$="/collections/customers"]`, "table.records")
	}
	if n := b.count("a.record-link"); n != 3 {
		t.Errorf("%d records listed, want 3", n)
	}
	b.shot("records")

	// Filter: two on plan pro; an address nobody has says so.
	b.fill("filter", `plan == "pro"`)
	b.submit(`form.filter-form button[type=submit]`, "table.records")
	if n := b.count("a.record-link"); n != 2 || strings.Contains(b.text("table.records"), "Bob") {
		t.Errorf("filter plan == pro lists %d records", n)
	}
	b.shot("records-filtered")
	b.fill("filter", `email == "zed@example.com"`)
	b.submit(`form.filter-form button[type=submit]`, "#no-match")
	b.fill("filter", `name == "Ada"`)
	b.submit(`form.filter-form button[type=submit]`, "#f-filter-error")
	if got := b.text("#f-filter-error"); !strings.Contains(got, "not searchable") {
		t.Errorf("filter error: %q", got)
	}
	b.fill("filter", `email == "ada@example.com"`)
	b.submit(`form.filter-form button[type=submit]`, "table.records")

	// Edit Ada: a negative age is refused beside the field, then fixed.
	b.submit("a.record-link", "#record-id")
	b.shot("record")
	b.submit("#edit-record", "#p2")
	b.fill("p2", "-1")
	b.submit(`form.record-form button[type=submit]`, "#p2-error")
	if got := b.text("#p2-error"); !strings.Contains(got, "Must be at least 0") {
		t.Errorf("age error: %q", got)
	}
	if got := b.attr("#p2", "aria-invalid"); got != "true" {
		t.Errorf("the age input is not marked invalid (%q)", got)
	}
	b.shot("record-invalid")
	b.fill("p2", "37")
	b.submit(`form.record-form button[type=submit]`, "#record-version")
	if got := b.text(".flash"); !strings.Contains(got, "record was saved") {
		t.Errorf("flash after saving: %q", got)
	}
	if v := b.text("#record-version"); v != "2" {
		t.Errorf("version after the edit %s, want 2", v)
	}
	if got := b.text("dl.record"); !strings.Contains(got, "37") || !strings.Contains(got, "poetry") {
		t.Errorf("the saved record shows %q", got)
	}

	// Delete Ada through the confirmation page.
	b.submit("#delete-record", "#confirm-delete")
	b.shot("record-delete")
	b.submit("#confirm-delete", ".flash")
	if got := b.text(".flash"); !strings.Contains(got, "record was deleted") {
		t.Errorf("flash after deleting: %q", got)
	}
	if n := b.count("a.record-link"); n != 2 || strings.Contains(b.text("table.records"), "Ada") {
		t.Errorf("after deleting Ada %d records are listed", n)
	}
	b.open("/orgs/" + org + "/collections/customers/schema")
	b.waitJS(`!!document.querySelector("pre.schema")`)
	b.shot("schema")
	b.open("/orgs/" + org + "/collections")
	b.waitJS(`!!document.querySelector("table.collections")`)
	b.shot("collections")
}

// count returns how many elements match sel.
func (b *tab) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}

// attr returns an attribute of the first element matching sel.
func (b *tab) attr(sel, name string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).getAttribute(%q) || ""`, sel, name)))
	if err != nil {
		b.t.Fatalf("reading %s of %s: %v", name, sel, err)
	}
	return v
}

// set sets form controls' values (selects, textareas) by selector, and
// checks that each took the value (a select refuses one it has no option for).
func (b *tab) set(kv ...string) {
	b.t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(function(e){e.value=%q;return e.value===%q})(document.querySelector(%q))`, kv[i+1], kv[i+1], kv[i])))
		if err != nil || !ok {
			b.t.Fatalf("setting %s to %q: %v", kv[i], kv[i+1], err)
		}
	}
}
