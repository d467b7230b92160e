package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/service"
)

// The console's browser session is the API's: the same __Host- cookie
// (Secure, HttpOnly, SameSite=Lax), so a session opened by either serves both.
const sessionCookie = httpapi.SessionCookie

// flashCookie carries the key of a one-time message to the next page.
const flashCookie = "__Host-strongroom_flash"

// maxFormBytes bounds a console form body (the API's 1 MiB applies too).
const maxFormBytes = 64 << 10

// maxFieldRunes bounds any single form field; longer values are refused
// beside the field before they reach the service.
const maxFieldRunes = 1024

// flashes are the messages a redirect may leave for the next page. Only keys
// travel in the cookie, so a cookie cannot put words on a page.
var flashes = map[string]string{
	"signed-out":            "You are signed out.",
	"session-ended":         "Your session has ended. Sign in again to continue.",
	"verified":              "Your e-mail address is confirmed.",
	"verify-sent":           "A new confirmation link is on its way to your inbox.",
	"password-changed":      "Your password is changed. Your other sessions were signed out.",
	"password-reset":        "Your password is reset and every session was signed out. Sign in with the new password.",
	"session-ended-one":     "The session was signed out.",
	"sessions-ended":        "Every other session was signed out.",
	"factor-removed":        "The second factor was removed.",
	"stepped-up":            "Thank you: you confirmed who you are. Continue where you were.",
	"welcome":               "Welcome to Strongroom. We sent a link to confirm your e-mail address.",
	"signed-in":             "You are signed in.",
	"email-step-done":       "Thank you: your e-mail address is confirmed for this sign-in.",
	"invitation":            "You joined the organization.",
	"mfa-enrol":             "This organization requires multi-factor authentication: add an authenticator app or a passkey to continue.",
	"passkey-added":         "The passkey was added.",
	"invited":               "The invitation is on its way.",
	"invitation-revoked":    "The invitation was withdrawn.",
	"role-changed":          "The role was changed.",
	"member-removed":        "The member was removed from the organization.",
	"member-clients-set":    "The member's clients were saved.",
	"client-created":        "The client was added.",
	"client-renamed":        "The client was renamed.",
	"client-deleted":        "The client was deleted.",
	"key-revoked":           "The API key was revoked: it stops working at once.",
	"settings-saved":        "The settings were saved.",
	"member-signed-out":     "The member was signed out everywhere.",
	"collection-created":    "The collection was created. Add its first record.",
	"record-created":        "The record was created.",
	"record-saved":          "The record was saved.",
	"record-deleted":        "The record was deleted.",
	"file-uploaded":         "The file was encrypted and attached to the record.",
	"file-deleted":          "The file was deleted.",
	"alert-acknowledged":    "The alert is acknowledged: it stays listed until you resolve it.",
	"alert-resolved":        "The alert is resolved.",
	"dsr-opened":            "The request is open with the records found. Check them, then carry it out before the deadline.",
	"dsr-done":              "The request was carried out and recorded in the audit log.",
	"incident-opened":       "The incident is open, in the identify phase.",
	"incident-updated":      "The timeline entry was added.",
	"incident-linked":       "The affected organizations were linked.",
	"breach-notified":       "The breach notice was sent to every affected organization not notified yet: in their console and by e-mail to their Admins.",
	"report-published":      "The post-incident report was published to the affected organizations.",
	"termination-cancelled": "The termination is cancelled: everyone has access again.",
	"backup-started":        "The backup has started; its progress shows below.",
	"subprocessor-added":    "The subprocessor was added; subscribers are told before it takes effect.",
	"subprocessor-ending":   "The subprocessor's end is scheduled; subscribers are told before it takes effect.",
	"report-updated":        "The report's status was changed.",
	"retention-saved":       "The collection's retention was saved; the daily sweep applies it.",
	"notice-acknowledged":   "The notice is acknowledged. The operators are told who acknowledged it and when.",
	"maintenance-scheduled": "The maintenance window is scheduled: it is on the status page and confirmed subscribers were e-mailed.",
	"maintenance-updated":   "The maintenance window is updated on the status page; confirmed subscribers were e-mailed if its times or components changed.",
	"maintenance-cancelled": "The maintenance window is cancelled: it no longer shows on the status page and confirmed subscribers were e-mailed.",
	"status-update-posted":  "The update is posted on the status page and e-mailed to confirmed subscribers.",
	"review-opened":         "The access review is open with a snapshot of who holds access now.",
	"review-kept":           "The access is kept and the decision recorded.",
	"review-revoked":        "The access is revoked: it ended at once, and the decision is recorded.",
	"review-completed":      "The access review is completed. Its evidence can be downloaded; it cannot change any more.",
	"policy-published":      "The policy change is published: every organization's Admins were e-mailed and see it in their console.",
	"policy-acknowledged":   "The policy change is acknowledged. The operators see that your organization did.",
}

func setFlash(w http.ResponseWriter, key string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: key, Path: "/", MaxAge: 60,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns the message a redirect left, and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return flashes[ck.Value]
}

// setSession puts a new session's token in the browser's cookie.
func setSession(w http.ResponseWriter, g *service.SessionGrant) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: g.Token, Path: "/", Expires: g.ExpiresAt,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// authenticate resolves the session cookie into the request's principal. A
// cookie that no longer opens a session (ended, expired) is cleared; ended
// reports that, so that a page needing a session can say why it is gone.
func (c *Console) authenticate(w http.ResponseWriter, r *http.Request) (req *http.Request, ended bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return r, false
	}
	base := *strongroom.PrincipalFrom(r.Context())
	p, err := c.svc.Authenticate(r.Context(), ck.Value, base)
	if err != nil {
		if strongroom.ErrorCode(err) != strongroom.EUNAUTHORIZED {
			c.log.Warn("console: authenticating the session", "err", err, "request_id", base.RequestID)
		}
		clearSession(w)
		return r, true
	}
	if p.Session == nil { // an API key in a cookie: not a browser session
		clearSession(w)
		return r, true
	}
	return r.WithContext(strongroom.WithPrincipal(r.Context(), p)), false
}

// page registers a page that anyone may open; a signed-in user is known to it.
func (c *Console) page(pattern string, h http.HandlerFunc) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r, _ = c.authenticate(w, r)
		h(w, r)
	})
}

// private registers a page that needs a signed-in user: anyone else is sent
// to the sign-in page, which brings them back afterwards.
func (c *Console) private(pattern string, h http.HandlerFunc) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r, ended := c.authenticate(w, r)
		if !strongroom.PrincipalFrom(r.Context()).Authenticated() {
			next := "/signin"
			if r.Method == http.MethodGet {
				next += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			flash := ""
			if ended {
				flash = "session-ended"
			}
			redirect(w, r, next, flash)
			return
		}
		h(w, r)
	})
}

// errForm is the answer to a form body that cannot be read.
var errForm = strongroom.Errorf(strongroom.EINVALID, "the form could not be read: reload the page and try again")

// readForm parses a POSTed form: url-encoded, at most maxFormBytes, every
// field valid UTF-8 of at most maxFieldRunes. Field problems come back as
// messages beside the fields (a validation error), the rest as errForm.
func readForm(w http.ResponseWriter, r *http.Request) error {
	return readFormLong(w, r, nil)
}

// readFormLong is readForm for a form with long fields (a JSON Schema, a
// raw JSON value): the fields long names may hold up to maxRawRunes.
func readFormLong(w http.ResponseWriter, r *http.Request, long func(name string) bool) error {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return strongroom.Errorf(strongroom.EUNSUPPORTED, "the form must be sent as application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return strongroom.Errorf(strongroom.ETOOLARGE, "the form is too large (at most %d KiB)", maxFormBytes>>10)
		}
		return errForm
	}
	var bad []strongroom.FieldError
	for name, vals := range r.PostForm {
		limit := maxFieldRunes
		if long != nil && long(name) {
			limit = maxRawRunes
		}
		for _, v := range vals {
			switch {
			case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
				bad = append(bad, strongroom.FieldError{Path: "/" + name, Message: "contains characters that are not text"})
			case utf8.RuneCountInString(v) > limit:
				bad = append(bad, strongroom.FieldError{Path: "/" + name, Message: "is too long"})
			}
		}
	}
	if len(bad) > 0 {
		e := strongroom.Errorf(strongroom.EVALIDATION, "the form is not valid")
		e.Fields = bad
		return e
	}
	return nil
}

// required checks that the named fields are present and not blank.
func required(r *http.Request, names ...string) error {
	var bad []strongroom.FieldError
	for _, n := range names {
		if strings.TrimSpace(r.PostFormValue(n)) == "" {
			bad = append(bad, strongroom.FieldError{Path: "/" + n, Message: "is required"})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	e := strongroom.Errorf(strongroom.EVALIDATION, "the form is not valid")
	e.Fields = bad
	return e
}

// keep returns the submitted form without the named secret fields, to fill
// a page back in.
func keep(r *http.Request, secrets ...string) url.Values {
	v := url.Values{}
	for k, vals := range r.PostForm {
		v[k] = vals
	}
	for _, s := range secrets {
		v.Del(s)
	}
	return v
}
