package authn

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/argon2"
)

// fastParams keep argon2id cheap in tests; the production defaults are tested
// once, for their format.
var fastParams = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func newTestHasher(t testing.TB, p Params) *Hasher {
	t.Helper()
	h, err := NewHasher(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newTestHasher(t, fastParams)
	for _, tc := range []struct{ name, password string }{
		{"ASCII", "correct horse battery staple"},
		{"non-ASCII", "Zoë 北京 🙂 שלום e\u0301"},
		{"empty", ""},
		{"NUL and quotes", "a\x00b'\"$argon2id$"},
		{"long", strings.Repeat("long ", 200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hash, err := h.Hash(tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Verify(hash, tc.password); err != nil {
				t.Fatalf("Verify(own hash) = %v", err)
			}
			if err := h.Verify(hash, tc.password+"x"); !errors.Is(err, ErrMismatch) {
				t.Errorf("Verify(wrong password) = %v, want ErrMismatch", err)
			}
			if strings.Contains(hash, tc.password) && tc.password != "" {
				t.Errorf("hash %q contains the password", hash)
			}
		})
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	h := newTestHasher(t, fastParams)
	hash, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		if err := h.Verify(hash, pw); !errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want ErrMismatch", pw, err)
		}
	}
}

// An empty hash is an unknown account: it fails, after the same work as a real
// verification.
func TestVerifyEmptyHash(t *testing.T) {
	h := newTestHasher(t, fastParams)
	for _, pw := range []string{"", "strongroom dummy password for unknown accounts", "anything"} {
		if err := h.Verify("", pw); !errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(\"\", %q) = %v, want ErrMismatch", pw, err)
		}
	}
	// A Hasher built without NewHasher has no dummy hash and still fails.
	var zero Hasher
	if err := zero.Verify("", ""); !errors.Is(err, ErrMismatch) {
		t.Errorf("zero Hasher Verify(\"\", \"\") = %v, want ErrMismatch", err)
	}
}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

// TestHashFormat checks the PHC string against an independent argon2id
// computation with the same salt.
func TestHashFormat(t *testing.T) {
	for _, p := range []Params{fastParams, {Memory: 128, Time: 3, Threads: 2, KeyLen: 64, SaltLen: 32}} {
		t.Run(fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads), func(t *testing.T) {
			salt := bytes.Repeat([]byte{7}, int(p.SaltLen))
			h := &Hasher{Params: p, Rand: bytes.NewReader(salt)}
			hash, err := h.Hash("pw")
			if err != nil {
				t.Fatal(err)
			}
			m := phcRE.FindStringSubmatch(hash)
			if m == nil {
				t.Fatalf("hash %q is not in PHC format", hash)
			}
			key := argon2.IDKey([]byte("pw"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			want := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads,
				base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
			if diff := cmp.Diff(want, hash); diff != "" {
				t.Errorf("hash (-want +got):\n%s", diff)
			}
			gotP, gotSalt, gotKey, err := parsePHC(hash)
			if err != nil {
				t.Fatalf("parsePHC(own hash) = %v", err)
			}
			if diff := cmp.Diff(p, gotP); diff != "" {
				t.Errorf("parsed params (-want +got):\n%s", diff)
			}
			if !bytes.Equal(gotSalt, salt) || !bytes.Equal(gotKey, key) {
				t.Errorf("parsed salt/key differ")
			}
		})
	}
	// The production defaults produce the documented string.
	h := &Hasher{Params: DefaultParams, Rand: bytes.NewReader(make([]byte, 16))}
	hash, err := h.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("default hash %q does not use m=19456,t=2,p=1", hash)
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	h := newTestHasher(t, fastParams)
	a, err := h.Hash("same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash("same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal: %s", a)
	}
}

func TestHashShortRandomness(t *testing.T) {
	h := &Hasher{Params: fastParams, Rand: bytes.NewReader(make([]byte, 3))}
	if hash, err := h.Hash("pw"); err == nil {
		t.Fatalf("Hash with 3 random bytes = %q, want an error", hash)
	}
}

func TestNeedsRehash(t *testing.T) {
	old := newTestHasher(t, fastParams)
	hash, err := old.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	with := func(change func(*Params)) Params {
		p := fastParams
		change(&p)
		return p
	}
	tests := []struct {
		name   string
		params Params
		hash   string
		want   bool
	}{
		{"same parameters", fastParams, hash, false},
		{"lower memory wanted", with(func(p *Params) { p.Memory = 32 }), hash, false},
		{"memory raised", with(func(p *Params) { p.Memory = 128 }), hash, true},
		{"time raised", with(func(p *Params) { p.Time = 2 }), hash, true},
		{"threads changed", with(func(p *Params) { p.Threads = 2 }), hash, true},
		{"longer key", with(func(p *Params) { p.KeyLen = 64 }), hash, true},
		{"malformed hash", fastParams, "$argon2id$garbage", true},
		{"empty hash", fastParams, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Hasher{Params: tc.params}
			if got := h.NeedsRehash(tc.hash); got != tc.want {
				t.Errorf("NeedsRehash = %v, want %v", got, tc.want)
			}
		})
	}
	// Raised parameters still verify old hashes: the parameters are stored.
	stronger := newTestHasher(t, with(func(p *Params) { p.Memory, p.Time = 256, 2 }))
	if err := stronger.Verify(hash, "pw"); err != nil {
		t.Errorf("stronger hasher cannot verify an old hash: %v", err)
	}
}

// Valid base64 pieces for hostile-hash cases.
var (
	salt16 = base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key32  = base64.RawStdEncoding.EncodeToString(make([]byte, 32))
)

func phc(params, salt, key string) string {
	return "$argon2id$v=19$" + params + "$" + salt + "$" + key
}

// hostileHashes are stored hashes that must be refused before any argon2 work.
var hostileHashes = []struct{ name, hash string }{
	{"empty parts", "$$$$$"},
	{"only dollars", "$"},
	{"no leading dollar", "argon2id$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"too many parts", phc("m=64,t=1,p=1", salt16, key32) + "$extra"},
	{"too few parts", "$argon2id$v=19$m=64,t=1,p=1$" + salt16},
	{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
	{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"empty version", "$argon2id$v=$m=64,t=1,p=1$" + salt16 + "$" + key32},
	{"no version", "$argon2id$m=64,t=1,p=1$" + salt16 + "$" + key32 + "$x"},
	{"empty params", phc("", salt16, key32)},
	{"missing p", phc("m=64,t=1", salt16, key32)},
	{"memory zero", phc("m=0,t=1,p=1", salt16, key32)},
	{"memory just over the cap", phc("m=4194305,t=1,p=1", salt16, key32)},
	{"memory max uint32", phc("m=4294967295,t=1,p=1", salt16, key32)},
	{"memory overflows uint32", phc("m=4294967296,t=1,p=1", salt16, key32)},
	{"memory huge", phc("m=999999999999999999999999,t=1,p=1", salt16, key32)},
	{"memory negative", phc("m=-1,t=1,p=1", salt16, key32)},
	{"time zero", phc("m=64,t=0,p=1", salt16, key32)},
	{"time over the cap", phc("m=64,t=65,p=1", salt16, key32)},
	{"time huge", phc("m=64,t=4294967295,p=1", salt16, key32)},
	{"threads zero", phc("m=64,t=1,p=0", salt16, key32)},
	{"threads overflow uint8", phc("m=64,t=1,p=256", salt16, key32)},
	{"empty salt", phc("m=64,t=1,p=1", "", key32)},
	{"short salt", phc("m=64,t=1,p=1", base64.RawStdEncoding.EncodeToString(make([]byte, 7)), key32)},
	{"bad base64 salt", phc("m=64,t=1,p=1", "!!!!!!!!!!!!!!!!!!!!!!", key32)},
	{"padded salt", phc("m=64,t=1,p=1", salt16+"==", key32)},
	{"url-safe salt", phc("m=64,t=1,p=1", strings.Repeat("-", 22), key32)},
	{"empty key", phc("m=64,t=1,p=1", salt16, "")},
	{"short key", phc("m=64,t=1,p=1", salt16, base64.RawStdEncoding.EncodeToString(make([]byte, 15)))},
	{"huge key", phc("m=64,t=1,p=1", salt16, base64.RawStdEncoding.EncodeToString(make([]byte, 129)))},
	{"bad base64 key", phc("m=64,t=1,p=1", salt16, strings.Repeat("*", 43))},
}

func TestParsePHCRefusesHostileHashes(t *testing.T) {
	h := newTestHasher(t, fastParams)
	for _, tc := range hostileHashes {
		t.Run(tc.name, func(t *testing.T) {
			if p, _, _, err := parsePHC(tc.hash); err == nil {
				t.Fatalf("parsePHC(%q) accepted %+v", tc.hash, p)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := h.Verify(tc.hash, "pw")
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("Verify(%q) succeeded", tc.hash)
			}
			if errors.Is(err, ErrMismatch) {
				t.Errorf("Verify(%q) = ErrMismatch, want a malformed-hash error", tc.hash)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("Verify(%q) allocated %d bytes", tc.hash, n)
			}
			if !h.NeedsRehash(tc.hash) {
				t.Errorf("NeedsRehash(%q) = false", tc.hash)
			}
		})
	}
}

// FuzzParsePHC: no input panics, and whatever parses is within the bounds
// verification relies on.
func FuzzParsePHC(f *testing.F) {
	f.Add(phc("m=64,t=1,p=1", salt16, key32))
	f.Add(phc("m=19456,t=2,p=1", salt16, key32))
	for _, tc := range hostileHashes {
		f.Add(tc.hash)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePHC(s)
		if err != nil {
			if p != (Params{}) || salt != nil || key != nil {
				t.Fatalf("parsePHC(%q) failed but returned values", s)
			}
			return
		}
		if p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
			t.Fatalf("parsePHC(%q) accepted out-of-bounds params %+v", s, p)
		}
		if len(salt) < 8 || len(key) < 16 || len(key) > 128 {
			t.Fatalf("parsePHC(%q) accepted salt %d bytes, key %d bytes", s, len(salt), len(key))
		}
		if int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("parsePHC(%q): params %+v disagree with salt %d, key %d", s, p, len(salt), len(key))
		}
		_ = (&Hasher{Params: fastParams}).NeedsRehash(s)
	})
}
