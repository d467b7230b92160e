package authn_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/authn"
)

// countingBytes returns n bytes 0, 1, 2, ...
func countingBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// Known answer: the token for the 32 bytes 0x00..0x1f, and its SHA-256.
const (
	katToken = "srs_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	katHash  = "e176931f73a64f9f23734c4a5d525b531039c9a77589236e2cf305b280cc2b91"
)

func TestNewTokenDeterministic(t *testing.T) {
	token, hash, err := authn.NewToken(bytes.NewReader(countingBytes(32)), authn.SessionTokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(katToken, token); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(katHash, hex.EncodeToString(hash)); diff != "" {
		t.Errorf("hash (-want +got):\n%s", diff)
	}
	if !authn.WellFormed(token, authn.SessionTokenPrefix) {
		t.Errorf("WellFormed(%q) = false for a new token", token)
	}
}

func TestNewTokenRandom(t *testing.T) {
	a, ha, err := authn.NewToken(nil, authn.SessionTokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	b, hb, err := authn.NewToken(nil, authn.SessionTokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || bytes.Equal(ha, hb) {
		t.Errorf("two random tokens are equal: %q", a)
	}
	for _, tok := range []string{a, b} {
		if !authn.WellFormed(tok, authn.SessionTokenPrefix) {
			t.Errorf("WellFormed(%q) = false", tok)
		}
	}
}

func TestNewTokenShortRandomness(t *testing.T) {
	if tok, _, err := authn.NewToken(bytes.NewReader(countingBytes(31)), authn.SessionTokenPrefix); err == nil {
		t.Fatalf("NewToken with 31 random bytes = %q, want an error", tok)
	}
}

func TestHashTokenStable(t *testing.T) {
	for range 3 {
		if got := hex.EncodeToString(authn.HashToken(katToken)); got != katHash {
			t.Fatalf("HashToken(%q) = %s, want %s", katToken, got, katHash)
		}
	}
	if bytes.Equal(authn.HashToken(katToken), authn.HashToken(katToken+"x")) {
		t.Error("different tokens hash the same")
	}
	if n := len(authn.HashToken("")); n != 32 {
		t.Errorf("hash length %d, want 32", n)
	}
}

func TestWellFormed(t *testing.T) {
	body := katToken[len(authn.SessionTokenPrefix):] // 43 base64url characters
	tests := []struct {
		name  string
		token string
		want  bool
	}{
		{"valid", katToken, true},
		{"url-safe alphabet", "srs_" + strings.Repeat("-", 42) + "w", true},
		{"underscores", "srs_" + strings.Repeat("_", 42) + "w", true},
		{"empty", "", false},
		{"prefix only", "srs_", false},
		{"no prefix", body, false},
		{"other prefix", "srk_" + body, false},
		{"prefix upper case", "SRS_" + body, false},
		{"42 characters", "srs_" + body[:42], false},
		{"44 characters", "srs_" + body + "A", false},
		{"padded", "srs_" + body + "=", false},
		{"standard alphabet plus", "srs_" + body[:42] + "+", false},
		{"standard alphabet slash", "srs_" + body[:42] + "/", false},
		{"space", "srs_" + body[:42] + " ", false},
		{"newline", "srs_" + body[:42] + "\n", false},
		{"carriage return", "srs_" + body[:21] + "\r" + body[22:], false},
		{"non-ASCII", "srs_" + body[:41] + "é", false},
		{"NUL", "srs_" + body[:42] + "\x00", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := authn.WellFormed(tc.token, authn.SessionTokenPrefix); got != tc.want {
				t.Errorf("WellFormed(%q) = %v, want %v", tc.token, got, tc.want)
			}
		})
	}
}
