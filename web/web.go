// Package web is Strongroom's console: server-rendered pages (html/template,
// embedded in the binary) for signing up, signing in by every method, the
// account (password, MFA, sessions) and organizations. Handlers call the
// service package directly. Pages carry no inline script or style, so the
// strict Content-Security-Policy set by httpapi holds; the few browser APIs
// that need JavaScript (WebAuthn, reading a URL fragment) use small files
// under /static/js/.
//
// docs/console.md describes how to add a page.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/service"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Console serves the console's pages and static files.
type Console struct {
	svc   *service.Service
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New returns the console over svc. It expects to be mounted as httpapi.New's
// extra handler, which gives every request its security headers, CSRF
// protection, body limit and the anonymous principal (address, device).
func New(svc *service.Service, log *slog.Logger) *Console {
	if log == nil {
		log = slog.Default()
	}
	c := &Console{svc: svc, log: log, mux: http.NewServeMux(), pages: parsePages()}
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	c.routes()
	return c
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// parsePages builds one template per page: the layout with the page's
// "content" (and optional "head") blocks.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html"))
	names, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
		pages[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return pages
}

var funcs = template.FuncMap{
	// dict builds a map for sub-templates: dict "name" "email" "label" "E-mail".
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
	"when":  whenUTC,
	"join":  strings.Join,
	"inc":   func(i int) int { return i + 1 },
	"len64": func(b []byte) int64 { return int64(len(b)) },
	// exportPath turns an organization's termination path into its export's.
	"exportPath": func(terminationPath string) string {
		return strings.TrimSuffix(terminationPath, "/termination") + "/export"
	},
	// bytes writes a size for people: 1.5 MiB.
	"bytes": humanBytes,
	// alertKind names an alert's kind for people.
	"alertKind": alertKindLabel,
}

// whenUTC writes a time for people, in UTC; "—" for none.
func whenUTC(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// humanBytes writes a size for people: 1.5 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTP"[exp]) + "iB"
}

// view is what every page template gets. Page handlers fill Title and Data
// (and, for forms, Form, Fields and Error); the console fills the rest.
type view struct {
	Title  string
	Nav    string // the navigation entry to mark current
	Me     *service.Me
	Org    *strongroom.OrgMembership // the organization in view, if any
	Flash  string
	Error  string            // a message about the whole form or page
	Fields map[string]string // form field name → message beside it
	Form   url.Values        // values to fill back in (never secrets)
	Data   any
	Wide   bool // a page that uses the full width
	// People names the accounts the page mentions (namePeople, Person).
	People map[strongroom.UserID]string
	// Actors names the actor ids the page mentions (nameActors, Actor).
	Actors map[string]service.Actor
	// PendingNotices is how many breach notices of the organization in view
	// no Admin has acknowledged (Admins only): the banner on its pages.
	PendingNotices int
	// CacheControl replaces the default "no-store" for public pages that are
	// the same for everyone, such as /trust: render then neither looks up the
	// signed-in user nor takes the flash message (no Set-Cookie).
	CacheControl string
}

// Value returns the submitted value of a form field.
func (v *view) Value(name string) string {
	if v.Form == nil {
		return ""
	}
	return v.Form.Get(name)
}

// OrgID returns the id of the organization in view, or of the user's first.
func (v *view) OrgID() strongroom.TenantID {
	if v.Org != nil {
		return v.Org.Organization.ID
	}
	if v.Me != nil && len(v.Me.Organizations) > 0 {
		return v.Me.Organizations[0].Organization.ID
	}
	return ""
}

// Admin reports whether the signed-in user is an Admin of the organization
// in view (or of their first), for the navigation entries only Admins use.
func (v *view) Admin() bool {
	cur := v.OrgID()
	if v.Me == nil || cur == "" {
		return false
	}
	for _, o := range v.Me.Organizations {
		if o.Organization.ID == cur {
			return o.Role == strongroom.RoleAdmin
		}
	}
	return false
}

// render writes page with status. It fills the layout's parts of v from the
// request: the signed-in user, and the flash message left by a redirect.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := c.pages[page]
	if !ok {
		panic("web: no page template " + page) // a programmer mistake
	}
	public := v.CacheControl != "" // the same for everyone: no user, no flash
	if v.Me == nil && !public {
		if p := strongroom.PrincipalFrom(r.Context()); p.Authenticated() && p.Session != nil {
			if me, err := c.svc.Me(r.Context()); err == nil {
				v.Me = me
			} else {
				c.log.Warn("console: loading the signed-in user", "err", err, "request_id", p.RequestID)
			}
		}
	}
	if v.Flash == "" && !public {
		v.Flash = takeFlash(w, r)
	}
	if !public {
		v.PendingNotices = c.pendingNotices(r, v)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if v.CacheControl != "" {
		h.Set("Cache-Control", v.CacheControl)
	}
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout.html", v); err != nil {
		c.log.Error("console: rendering", "page", page, "err", err, "request_id", strongroom.PrincipalFrom(r.Context()).RequestID)
	}
}

// fail renders page again with err explained: validation messages beside
// their fields, anything else above the form. Internal causes are logged,
// never shown.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, page string, v *view, err error) {
	status := httpapi.StatusOf(err)
	if status >= 500 {
		id := strongroom.PrincipalFrom(r.Context()).RequestID
		c.log.Error("console: request failed", "err", err, "request_id", id, "route", r.Pattern)
		v.Error = "Something went wrong on our side. Try again; if it keeps happening, give your administrator this reference: " + id
	} else if fields := strongroom.ErrorFields(err); len(fields) > 0 {
		if v.Fields == nil {
			v.Fields = map[string]string{}
		}
		var parts []string
		for _, f := range fields {
			name := strings.TrimPrefix(f.Path, "/")
			if i := strings.IndexByte(name, '/'); i >= 0 { // a list item: the list's field
				name = name[:i]
			}
			if _, dup := v.Fields[name]; !dup {
				v.Fields[name] = sentence(f.Message)
				parts = append(parts, strings.ReplaceAll(name, "_", " ")+" "+strings.TrimSuffix(f.Message, "."))
			}
		}
		// The summary names every field, so a message reaches the reader even
		// for a field the page does not show beside an input.
		v.Error = "Please correct the marked fields: " + strings.Join(parts, "; ") + "."
	} else {
		v.Error = sentence(strongroom.ErrorMessage(err))
	}
	if wait := strongroom.ErrorRetryAfter(err); wait > 0 {
		w.Header().Set("Retry-After", retrySeconds(wait))
	}
	c.render(w, r, status, page, v)
}

// sentence makes a service message read as a sentence.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

func retrySeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// errorPage renders a page that only explains err (not found, forbidden, ...).
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	c.fail(w, r, "error", &view{Title: "Something is wrong"}, err)
}

// redirect answers a form with 303 See Other to target, with an optional
// flash message (a key of flashes) for the next page.
func redirect(w http.ResponseWriter, r *http.Request, target, flash string) {
	if flash != "" {
		setFlash(w, flash)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext returns next when it is a path of this site, else fallback: the
// "next" parameter must not send the browser elsewhere (open redirect).
func safeNext(next, fallback string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return next
}

var errNotFound = strongroom.Errorf(strongroom.ENOTFOUND, "there is no such page")

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusNotFound, "notfound", &view{Title: "Page not found"})
}
