package authn

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn/blocklist"
)

// Policy is the password policy (NIST SP 800-63B-4): a length range counted in
// Unicode code points, no composition rules, and no password that is on the
// blocklist of common and breached passwords (package blocklist) or contains
// the user's e-mail address or the organization's name.
type Policy struct {
	MinLength int // default 15 (passwords as the only factor); never below 8
	MaxLength int // at least 64
}

// DefaultPolicy is the policy for passwords that are the only factor.
var DefaultPolicy = Policy{MinLength: 15, MaxLength: 128}

// Check returns a validation error naming what is wrong, or nil. Nothing is
// truncated or normalized away: every code point counts. A minimum below 8 or a
// maximum below 64 is raised to that floor. The blocklist is always checked,
// after the lengths, comparing case-insensitively and after NFKC
// (blocklist.Normalize), so "PassWord1234" and its fullwidth form are refused
// like "password1234"; its first use loads the list (about 50 ms, once).
func (p Policy) Check(password, email, orgName string) error {
	p.MinLength = max(p.MinLength, 8)
	p.MaxLength = max(p.MaxLength, 64)
	if !utf8.ValidString(password) {
		return fieldError("/password", "must be valid UTF-8 text")
	}
	n := utf8.RuneCountInString(password)
	if n < p.MinLength {
		return fieldError("/password", "must be at least %d characters long", p.MinLength)
	}
	if n > p.MaxLength {
		return fieldError("/password", "must be at most %d characters long", p.MaxLength)
	}
	lower := strings.ToLower(password)
	if local, _, ok := strings.Cut(strings.ToLower(email), "@"); ok && len(local) >= 3 && strings.Contains(lower, local) {
		return fieldError("/password", "must not contain your e-mail address")
	}
	if o := strings.ToLower(strings.TrimSpace(orgName)); len(o) >= 3 && strings.Contains(lower, o) {
		return fieldError("/password", "must not contain the organization name")
	}
	if blocklist.Contains(password) {
		return fieldError("/password", "is too common: it appears in lists of breached passwords")
	}
	if predictable(password) {
		return fieldError("/password", "is too predictable: it repeats a few characters or runs through a sequence such as 123456 or abcdef")
	}
	return nil
}

func fieldError(path, format string, args ...any) error {
	e := strongroom.Errorf(strongroom.EVALIDATION, "the password does not meet the policy")
	e.Fields = []strongroom.FieldError{{Path: path, Message: fmt.Sprintf(format, args...)}}
	return e
}

// predictable reports the passwords a blocklist cannot list but an attacker
// tries first (NIST SP 800-63B's "repetitive or sequential characters"): very
// few different characters ("aaaaaaaaaaaaaaaa", "abababab…"), or a run through
// consecutive code points, up or down, with 9 followed by 0
// ("1234567890123456", "zyxwvutsrq…").
func predictable(password string) bool {
	rs := []rune(strings.ToLower(password))
	distinct := map[rune]bool{}
	for _, r := range rs {
		distinct[r] = true
	}
	if len(distinct) <= 3 {
		return true
	}
	step := func(a, b rune) int {
		switch {
		case b == a+1 || (a == '9' && b == '0'):
			return 1
		case b == a-1 || (a == '0' && b == '9'):
			return -1
		}
		return 0
	}
	dir := 0
	for i := 1; i < len(rs); i++ {
		d := step(rs[i-1], rs[i])
		if d == 0 || (dir != 0 && d != dir) {
			return false
		}
		dir = d
	}
	return len(rs) > 1
}
