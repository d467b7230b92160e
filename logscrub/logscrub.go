// Package logscrub is a slog.Handler that removes secrets and personal data
// from log records before the handler it wraps writes them (security
// invariant 3: logs scrub secrets and personal data).
//
// It is a second line of defence: Strongroom's code logs no secrets and no
// addresses on purpose (it logs route patterns, not paths; recipient domains,
// not recipients). The scrubber catches what slips through, in three ways:
//
//   - An attribute whose key names a secret (password, token, secret, code,
//     cookie, authorization, key, credential and their compounds such as
//     smtp_password or apiKey) has its value replaced by [REDACTED], whatever
//     its kind, a group included. Keys naming something about a secret rather
//     than the secret itself are kept: key_id, token_count, status_code,
//     public_key, request_id.
//   - In every string (messages, values, errors, values in groups), bearer
//     tokens with Strongroom's prefixes (srs_, srk_, src_, srl_, srp_, sri_)
//     keep their prefix only, e-mail addresses lose their local part
//     (***@example.com), and URLs lose the password in their user info.
//   - Values of other kinds (slices, maps, structs) are checked as they would
//     be printed; if anything had to be scrubbed, the scrubbed text replaces
//     the value. Keys inside such values are not seen: log structured
//     attributes (slog.Group) rather than maps of secrets.
//
// Groups opened with WithGroup under a secret name redact every attribute
// added inside them.
package logscrub

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces the value of an attribute whose key names a secret.
const Redacted = "[REDACTED]"

// Handler scrubs records and passes them to the handler it wraps.
type Handler struct {
	next   slog.Handler
	secret bool // inside a group whose name is a secret: redact everything
}

// New returns a Handler that scrubs records before next handles them.
func New(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled reports whether the wrapped handler handles records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle scrubs r's message and attributes and passes the result on. A
// record with nothing to scrub (most are) is passed on as it is, without
// allocating.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	msg := String(r.Message)
	changed := msg != r.Message
	if !changed {
		r.Attrs(func(a slog.Attr) bool {
			_, changed = h.attr(a)
			return !changed
		})
	}
	if !changed {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		s, _ := h.attr(a)
		out.AddAttrs(s)
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs scrubs attrs and passes them on.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		scrubbed[i], _ = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(scrubbed), secret: h.secret}
}

// WithGroup opens a group; everything logged inside a group with a secret
// name is redacted.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), secret: h.secret || SecretKey(name)}
}

func (h *Handler) attr(a slog.Attr) (slog.Attr, bool) {
	if h.secret {
		return redact(a), true
	}
	return scrub(a)
}

func redact(a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup && a.Key == "" {
		// An inlined group: its attributes keep their keys, each redacted.
		as := a.Value.Group()
		out := make([]slog.Attr, len(as))
		for i, g := range as {
			out[i] = redact(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	}
	return slog.String(a.Key, Redacted)
}

// Attr returns a scrubbed: redacted when its key names a secret, otherwise
// with its strings scrubbed, recursively through groups. LogValuers are
// resolved first.
func Attr(a slog.Attr) slog.Attr {
	s, _ := scrub(a)
	return s
}

// scrub is Attr that also reports whether anything changed (slog.Value's
// Equal may panic on values of kind Any, so it is not used).
func scrub(a slog.Attr) (slog.Attr, bool) {
	if a.Key != "" && SecretKey(a.Key) {
		return redact(a), true
	}
	v := a.Value.Resolve()
	resolved := v.Kind() != a.Value.Kind()
	switch v.Kind() {
	case slog.KindString:
		if s := String(v.String()); s != v.String() {
			return slog.String(a.Key, s), true
		}
	case slog.KindGroup:
		as := v.Group()
		out := make([]slog.Attr, len(as))
		changed := false
		for i, g := range as {
			var c bool
			out[i], c = scrub(g)
			changed = changed || c
		}
		if changed {
			return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}, true
		}
	case slog.KindAny:
		if s, ok := anyValue(v.Any()); ok {
			return slog.Attr{Key: a.Key, Value: s}, true
		}
	}
	// Numbers, booleans, durations and times hold no text.
	return slog.Attr{Key: a.Key, Value: v}, resolved
}

// anyValue scrubs a value of kind Any and reports whether it replaced it.
// An error that needs scrubbing becomes its scrubbed text (which is how the
// JSON and text handlers print errors). Other values are kept unless a printed form (JSON or %+v) holds
// something to scrub; then the scrubbed text replaces them.
func anyValue(v any) (slog.Value, bool) {
	switch x := v.(type) {
	case nil:
		return slog.Value{}, false
	case error:
		if s := String(x.Error()); s != x.Error() {
			return slog.StringValue(s), true
		}
		return slog.Value{}, false
	case []byte:
		if s := String(string(x)); s != string(x) {
			return slog.StringValue(s), true
		}
		return slog.Value{}, false
	}
	text := fmt.Sprintf("%+v", v)
	clean := String(text) == text
	if b, err := json.Marshal(v); clean && err == nil {
		clean = String(string(b)) == string(b)
	}
	if clean {
		return slog.Value{}, false
	}
	return slog.StringValue(String(text)), true
}

// secretWords name secrets in attribute keys, matched as whole words of the
// key (split at punctuation, digits-letters and camelCase boundaries).
var secretWords = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "pwd": true,
	"token": true, "secret": true, "code": true, "otp": true, "totp": true,
	"cookie": true, "authorization": true, "auth": true, "bearer": true,
	"key": true, "apikey": true, "credential": true, "dsn": true, "signature": true,
}

// aboutWords, as a key's last word, say the value is about a secret, not the
// secret: key_id, token_count, code_length, password_changed_at.
var aboutWords = map[string]bool{
	"id": true, "ids": true, "count": true, "counts": true, "len": true, "length": true, "size": true,
	"kind": true, "type": true, "name": true, "prefix": true, "hint": true, "version": true,
	"at": true, "time": true, "expires": true, "expiry": true, "ttl": true, "age": true,
	"set": true, "required": true, "enabled": true, "method": true, "methods": true,
	"file": true, "path": true, "env": true, "source": true, "status": true, "result": true,
}

// codeQualifiers make "code" a status rather than a secret: status_code,
// exit_code, http_code, error_code, country_code.
var codeQualifiers = map[string]bool{
	"status": true, "exit": true, "error": true, "err": true, "http": true, "response": true,
	"return": true, "country": true, "language": true, "lang": true, "currency": true, "reason": true,
}

// keys caches SecretKey's answers: log keys are few and fixed in the code.
var keys struct {
	sync.RWMutex
	m map[string]bool
}

const maxCachedKeys = 4096

// SecretKey reports whether an attribute key names a secret.
func SecretKey(key string) bool {
	keys.RLock()
	secret, ok := keys.m[key]
	keys.RUnlock()
	if ok {
		return secret
	}
	secret = secretKey(key)
	keys.Lock()
	if keys.m == nil {
		keys.m = make(map[string]bool)
	}
	if len(keys.m) < maxCachedKeys {
		keys.m[key] = secret
	}
	keys.Unlock()
	return secret
}

func secretKey(key string) bool {
	words := splitWords(key)
	if len(words) == 0 || aboutWords[words[len(words)-1]] {
		return false
	}
	for i, w := range words {
		w = strings.TrimSuffix(w, "s") // tokens, secrets, cookies, keys, codes
		switch {
		case w == "public":
			return false // public_key, public_key_pem
		case w == "code" && i > 0 && codeQualifiers[words[i-1]]:
			continue
		case secretWords[w]:
			return true
		}
	}
	return false
}

// splitWords splits a key into lower-case words at every character that is
// not a letter or digit and at camelCase boundaries: "smtpPassword" and
// "SMTP_PASSWORD" both give smtp, password; "X-Api-Key" gives x, api, key.
func splitWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && len(cur) > 0:
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush() // fooBar, HTTPServer → http, server
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// TokenPrefixes are the prefixes of Strongroom's bearer secrets (package
// authn): session tokens, API keys, challenges, e-mailed links, password
// resets and invitations.
var TokenPrefixes = []string{"srs_", "srk_", "src_", "srl_", "srp_", "sri_"}

// String returns s with Strongroom tokens cut to their prefix, e-mail
// addresses' local parts replaced by ***, and passwords in URLs' user info
// replaced by ***. Strings with nothing to scrub are returned as they are,
// without allocating.
func String(s string) string {
	if !strings.Contains(s, "sr") && !strings.Contains(s, "@") {
		return s
	}
	s = scrubTokens(s)
	if strings.Contains(s, "@") {
		s = scrubURLPasswords(s)
		s = scrubEmails(s)
	}
	return s
}

func scrubTokens(s string) string {
	var b strings.Builder
	last := 0 // s[:last] is written to b (when b is in use)
	for i := 0; i+4 <= len(s); {
		j := strings.Index(s[i:], "sr")
		if j < 0 {
			break
		}
		i += j
		if i+4 > len(s) || !isTokenPrefix(s[i:i+4]) {
			i++
			continue
		}
		end := i + 4
		for end < len(s) && isBase64URL(s[end]) {
			end++
		}
		if end == i+4 {
			i = end
			continue // a bare prefix, such as in "srs_ tokens"
		}
		b.WriteString(s[last : i+4])
		b.WriteString(Redacted)
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isTokenPrefix(p string) bool {
	for _, t := range TokenPrefixes {
		if p == t {
			return true
		}
	}
	return false
}

func isBase64URL(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// scrubURLPasswords replaces the password in "scheme://user:password@host"
// with ***.
func scrubURLPasswords(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; ; {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			break
		}
		start := i + j + 3
		end := start
		for end < len(s) && !strings.ContainsRune("/?#@ \t\r\n\"'", rune(s[end])) {
			end++
		}
		i = end
		if end >= len(s) || s[end] != '@' {
			continue
		}
		colon := strings.IndexByte(s[start:end], ':')
		if colon < 0 || start+colon+1 == end {
			continue // no password, or an empty one
		}
		b.WriteString(s[last : start+colon+1])
		b.WriteString("***")
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// scrubEmails replaces the local part of every e-mail address with ***: an
// "@" with at least one local-part character before it and a dotted domain
// after it.
func scrubEmails(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		start := i
		for start > last && isLocal(s[start-1]) {
			start--
		}
		end := i + 1
		for end < len(s) && isDomain(s[end]) {
			end++
		}
		for end > i+1 && s[end-1] == '.' { // a sentence's full stop
			end--
		}
		if start == i || !strings.Contains(s[i+1:end], ".") {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString("***")
		last = i
		i = end - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isLocal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c >= utf8.RuneSelf
}

func isDomain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c >= utf8.RuneSelf
}
