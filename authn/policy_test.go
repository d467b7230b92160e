package authn_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn"
)

func TestPolicyCheck(t *testing.T) {
	const (
		email = "alice@example.com"
		org   = "Acme Corp"
	)
	fields := func(msg string) []strongroom.FieldError {
		return []strongroom.FieldError{{Path: "/password", Message: msg}}
	}
	tooShort := fields("must be at least 15 characters long")
	tooLong := fields("must be at most 128 characters long")
	tests := []struct {
		name     string
		password string
		email    string
		org      string
		want     []strongroom.FieldError // nil: accepted
	}{
		{"15 ASCII characters", cycle("wxyq", 15), email, org, nil},
		{"14 ASCII characters", cycle("wxyq", 14), email, org, tooShort},
		{"empty", "", email, org, tooShort},
		{"128 characters", cycle("wxyq", 128), email, org, nil},
		{"129 characters", cycle("wxyq", 129), email, org, tooLong},
		// Lengths are code points, not bytes: an emoji is one character.
		{"15 emoji (60 bytes)", cycle("🙂🚀🌲🎈", 15), email, org, nil},
		{"14 emoji (56 bytes)", cycle("🙂🚀🌲🎈", 14), email, org, tooShort},
		{"128 emoji (512 bytes)", cycle("🙂🚀🌲🎈", 128), email, org, nil},
		{"129 emoji", cycle("🙂🚀🌲🎈", 129), email, org, tooLong},
		{"15 CJK characters", cycle("北京上海", 15), email, org, nil},
		// Nothing is normalized away: a combining mark counts on its own.
		{"7 vowels + combining acute (14 code points)", cycle("e\u0301a\u0301o\u0301u\u0301", 14), email, org, tooShort},
		{"8 vowels + combining acute (16 code points)", cycle("e\u0301a\u0301o\u0301u\u0301", 16), email, org, nil},
		{"no composition rules", "all lower case words", email, org, nil},
		{"invalid UTF-8", strings.Repeat("\xff", 20), email, org, fields("must be valid UTF-8 text")},
		{"truncated UTF-8 sequence", strings.Repeat("x", 20) + "\xe2\x82", email, org, fields("must be valid UTF-8 text")},
		{"contains e-mail local part", "my name is alice, hi", email, org, fields("must not contain your e-mail address")},
		{"contains local part, other case", "my name is ALICE, hi", email, org, fields("must not contain your e-mail address")},
		{"e-mail upper case", "my name is alice, hi", "ALICE@EXAMPLE.COM", org, fields("must not contain your e-mail address")},
		{"short local part not checked", "my name is al capone", "al@example.com", org, nil},
		{"contains organization name", "we are acme corp forever", email, org, fields("must not contain the organization name")},
		{"organization name with spaces around", "we are acme corp forever", email, "  Acme Corp  ", fields("must not contain the organization name")},
		{"short organization name not checked", "ab cd ab cd ab cd", email, "ab", nil},
		{"non-ASCII organization name", "welcome to zoë 北京 team", email, "Zoë 北京", fields("must not contain the organization name")},
		{"no e-mail given", "alice alice alice", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := authn.DefaultPolicy.Check(tc.password, tc.email, tc.org)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check refused: %v %v", err, strongroom.ErrorFields(err))
				}
				return
			}
			if code := strongroom.ErrorCode(err); code != strongroom.EVALIDATION {
				t.Fatalf("Check = %v (code %q), want a %s error", err, code, strongroom.EVALIDATION)
			}
			if diff := cmp.Diff(tc.want, strongroom.ErrorFields(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if strings.Contains(strongroom.ErrorMessage(err), tc.password) && tc.password != "" {
				t.Errorf("message %q repeats the password", strongroom.ErrorMessage(err))
			}
		})
	}
}

func TestPolicyCustomLengths(t *testing.T) {
	p := authn.Policy{MinLength: 8, MaxLength: 64}
	for _, tc := range []struct {
		name     string
		password string
		ok       bool
	}{
		// "zzzzzzzz" is on the blocklist and too predictable; these cases
		// are about length only.
		{"8", cycle("zyqw", 8), true},
		{"7", cycle("zyqw", 7), false},
		{"64", cycle("zyqw", 64), true},
		{"65", cycle("zyqw", 65), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.Check(tc.password, "bob@example.com", "Org"); (err == nil) != tc.ok {
				t.Errorf("Check(%d characters) = %v, want ok=%v", len(tc.password), err, tc.ok)
			}
		})
	}
}

func TestPolicyBlocklist(t *testing.T) {
	const (
		email = "carol@example.com"
		org   = "Initech"
	)
	common := []strongroom.FieldError{{Path: "/password", Message: "is too common: it appears in lists of breached passwords"}}
	short := authn.Policy{MinLength: 8}
	tests := []struct {
		name     string
		policy   authn.Policy
		password string
		want     []strongroom.FieldError // nil: accepted
	}{
		{"listed", short, "password1234", common},
		{"listed, 8 characters", short, "iloveyou", common},
		{"listed, upper case", short, "PASSWORD1234", common},
		{"listed, mixed case", short, "PassWord1234", common},
		{"listed, fullwidth (NFKC)", short, "ｐａｓｓｗｏｒｄ１２３４", common},
		{"listed, surrounding spaces", short, "  password1234  ", common},
		{"listed, keyboard run", short, "1qaz2wsx3edc4rfv", common},
		{"listed, 15+ characters, default policy", authn.DefaultPolicy, "qwertyuiopasdfghjkl", common},
		{"listed, padded to 15 with spaces", authn.DefaultPolicy, "   password1234", common},
		{"unlisted", short, "correct horse battery staple", nil},
		{"unlisted, 8 characters", short, "vK3#pq9Z", nil},
		{"listed word inside a longer password", short, "password1234 is what I used to use", nil},
		// The length is checked first: too short says so, whatever the list.
		{"listed but too short", authn.DefaultPolicy, "iloveyou", []strongroom.FieldError{{Path: "/password", Message: "must be at least 15 characters long"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Check(tc.password, email, org)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check refused: %v %v", err, strongroom.ErrorFields(err))
				}
				return
			}
			if code := strongroom.ErrorCode(err); code != strongroom.EVALIDATION {
				t.Fatalf("Check = %v (code %q), want a %s error", err, code, strongroom.EVALIDATION)
			}
			if diff := cmp.Diff(tc.want, strongroom.ErrorFields(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if strings.Contains(strongroom.ErrorMessage(err), tc.password) {
				t.Errorf("message %q repeats the password", strongroom.ErrorMessage(err))
			}
		})
	}
}

// TestPolicyPredictable: passwords made of very few different characters, or
// of one run through consecutive characters, are refused even when no list
// holds them; ordinary passwords with runs inside them are not.
func TestPolicyPredictable(t *testing.T) {
	predictable := []strongroom.FieldError{{Path: "/password",
		Message: "is too predictable: it repeats a few characters or runs through a sequence such as 123456 or abcdef"}}
	tests := []struct {
		name     string
		password string
		want     []strongroom.FieldError
	}{
		{"digits up, wrapping 9 to 0", "1234567890123456", predictable},
		{"digits down", "9876543210987654", predictable},
		{"letters up", "defghijklmnopqrs", predictable},
		{"letters down, upper case", "ZYXWVUTSRQPONMLK", predictable},
		{"one character", "zzzzzzzzzzzzzzzz", predictable},
		{"two characters alternating", "k9k9k9k9k9k9k9k9", predictable},
		{"three characters", "xyzzyxxyzzyxxyzz", predictable},
		{"four characters, not a run", "wq4zwq4zwq4zwq4z", nil},
		{"a run inside a passphrase", "my 123456 is not my password", nil},
		{"up then down", "0123456789876543", nil},
		{"ordinary passphrase", "correct horse battery staple", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := authn.DefaultPolicy.Check(tc.password, "dana@example.com", "Umbrella")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check refused: %v %v", err, strongroom.ErrorFields(err))
				}
				return
			}
			if diff := cmp.Diff(tc.want, strongroom.ErrorFields(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// cycle returns n code points taken in turn from unit: passwords of a given
// length that are neither listed nor predictable.
func cycle(unit string, n int) string {
	u := []rune(unit)
	out := make([]rune, n)
	for i := range out {
		out[i] = u[i%len(u)]
	}
	return string(out)
}
