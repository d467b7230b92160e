package envelope_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/envelope"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKey(t, 42, "a")
	for _, tc := range []struct {
		name string
		ad   envelope.AD
		size int
	}{
		{"empty plaintext", testAD, 0},
		{"one byte", testAD, 1},
		{"one block less one", testAD, 15},
		{"one block", testAD, 16},
		{"one block and one", testAD, 17},
		{"1 KiB", testAD, 1 << 10},
		{"100 KB", testAD, 100_000},
		{"no tenant (global data)", envelope.AD{Table: "users", Row: "u1", Field: "totp_secret"}, 20},
		{"no field (whole record)", envelope.AD{Tenant: "t", Table: "records", Row: "r"}, 300},
		{"unicode and separators in the place", envelope.AD{Tenant: "t\x00ü", Table: "a|b", Row: "\xff", Field: "f/g"}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := detBytes("pt:"+tc.name, tc.size)
			env, err := envelope.Seal(k, tc.ad, pt, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(env) != len(pt)+envOverhead {
				t.Errorf("len(envelope) = %d, want %d", len(env), len(pt)+envOverhead)
			}
			if env[0] != envelope.Version1 || binary.BigEndian.Uint32(env[1:5]) != 42 {
				t.Errorf("header = % x, want version 1 and key id 42", env[:5])
			}
			if tc.size >= 16 && bytes.Contains(env, pt[:16]) {
				t.Error("the envelope contains the plaintext")
			}
			id, err := envelope.KeyID(env)
			if err != nil || id != 42 {
				t.Errorf("KeyID = %d, %v; want 42", id, err)
			}
			got, err := envelope.Open(k, tc.ad, env)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("Open returned a nil slice for a genuine envelope")
			}
			if diff := cmp.Diff(pt, got); diff != "" {
				t.Errorf("Open (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := testKey(t, 1, "a")
	seen := map[string]bool{}
	for range 100 {
		env, err := envelope.Seal(k, testAD, []byte("same plaintext"), nil)
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(env[5:17])
		if seen[nonce] {
			t.Fatalf("nonce %x repeated", nonce)
		}
		seen[nonce] = true
	}
}

func TestSealRefuses(t *testing.T) {
	k := testKey(t, 1, "a")
	for _, tc := range []struct {
		name string
		k    envelope.Key
		ad   envelope.AD
		r    func() *bytes.Reader
	}{
		{"zero key", envelope.Key{}, testAD, nil},
		{"no table", k, envelope.AD{Tenant: "t", Row: "r", Field: "f"}, nil},
		{"no row", k, envelope.AD{Tenant: "t", Table: "records", Field: "f"}, nil},
		{"zero AD", k, envelope.AD{}, nil},
		{"nonce reader runs dry", k, testAD, func() *bytes.Reader { return bytes.NewReader(make([]byte, 11)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env []byte
			var err error
			if tc.r != nil {
				env, err = envelope.Seal(tc.k, tc.ad, []byte("x"), tc.r())
			} else {
				env, err = envelope.Seal(tc.k, tc.ad, []byte("x"), nil)
			}
			if err == nil || env != nil {
				t.Errorf("Seal = %x, %v; want an error", env, err)
			}
			if errors.Is(err, envelope.ErrOpen) {
				t.Error("Seal returned ErrOpen, which is for opening")
			}
		})
	}
	if _, err := envelope.Seal(k, testAD, nil, errReader{errors.New("boom")}); err == nil {
		t.Error("failing nonce reader: no error")
	}
}

// TestOpenFailures: every way an envelope can be wrong gives ErrOpen and no
// plaintext.
func TestOpenFailures(t *testing.T) {
	k := testKey(t, 7, "a")
	pt := []byte("a TOTP secret, say")
	env, err := envelope.Seal(k, testAD, pt, nil)
	if err != nil {
		t.Fatal(err)
	}
	otherMaterial := testKey(t, 7, "b")
	sameMaterialOtherID, err := envelope.NewKey(8, k.Material())
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(ad *envelope.AD)) envelope.AD {
		ad := testAD
		f(&ad)
		return ad
	}
	edit := func(f func(e []byte) []byte) []byte { return f(bytes.Clone(env)) }

	type tc struct {
		name string
		k    envelope.Key
		ad   envelope.AD
		env  []byte
	}
	cases := []tc{
		{"wrong key, same id", otherMaterial, testAD, env},
		{"wrong key id, same material", sameMaterialOtherID, testAD, env},
		{"key id rewritten to match the other key", sameMaterialOtherID, testAD,
			edit(func(e []byte) []byte { binary.BigEndian.PutUint32(e[1:5], 8); return e })},
		{"zero key", envelope.Key{}, testAD, env},
		{"other tenant (cross-tenant swap)", k, with(func(ad *envelope.AD) { ad.Tenant = "t_other" }), env},
		{"no tenant", k, with(func(ad *envelope.AD) { ad.Tenant = "" }), env},
		{"other table", k, with(func(ad *envelope.AD) { ad.Table = "connections" }), env},
		{"other row (cross-row swap)", k, with(func(ad *envelope.AD) { ad.Row = "0190f3a2-7c1e-7d4b-9a51-3f0e6b2c8d12" }), env},
		{"other field", k, with(func(ad *envelope.AD) { ad.Field = "totp_secret" }), env},
		{"no field", k, with(func(ad *envelope.AD) { ad.Field = "" }), env},
		{"tenant and table run together", k, with(func(ad *envelope.AD) { ad.Tenant, ad.Table = ad.Tenant+ad.Table, "" }), env},
		{"invalid AD", k, envelope.AD{}, env},
		{"appended byte", k, testAD, append(bytes.Clone(env), 0)},
		{"nil", k, testAD, nil},
	}
	for _, v := range []byte{0, 2, 0x81, 0xff} {
		cases = append(cases, tc{fmt.Sprintf("version %#x", v), k, testAD,
			edit(func(e []byte) []byte { e[0] = v; return e })})
	}
	for n := range len(env) {
		cases = append(cases, tc{fmt.Sprintf("truncated to %d bytes", n), k, testAD, env[:n]})
	}
	for i := range len(env) {
		for _, bit := range []byte{0x01, 0x80} {
			cases = append(cases, tc{fmt.Sprintf("byte %d xor %#x", i, bit), k, testAD,
				edit(func(e []byte) []byte { e[i] ^= bit; return e })})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := envelope.Open(c.k, c.ad, c.env)
			wantErrOpen(t, got, err)
		})
	}
	// The envelope itself still opens: the failures above are the edits'.
	if got, err := envelope.Open(k, testAD, env); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("the genuine envelope does not open: %v", err)
	}
}

// TestADEncodingIsUnambiguous: places whose fields concatenate to the same
// string are still different places.
func TestADEncodingIsUnambiguous(t *testing.T) {
	k := testKey(t, 1, "a")
	for _, pair := range [][2]envelope.AD{
		{{Tenant: "ab", Table: "c", Row: "r"}, {Tenant: "a", Table: "bc", Row: "r"}},
		{{Table: "t", Row: "ab", Field: ""}, {Table: "t", Row: "a", Field: "b"}},
		{{Tenant: "", Table: "tt", Row: "r"}, {Tenant: "t", Table: "t", Row: "r"}},
		{{Table: "t", Row: "r\x00\x00\x00\x00\x00\x00\x00\x00", Field: ""}, {Table: "t", Row: "r", Field: "\x00"}},
	} {
		env, err := envelope.Seal(k, pair[0], []byte("v"), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := envelope.Open(k, pair[1], env)
		wantErrOpen(t, got, err)
	}
}

func TestKeyID(t *testing.T) {
	k := testKey(t, 0xdeadbeef, "a")
	env, err := envelope.Seal(k, testAD, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		env    []byte
		want   uint32
		wantOK bool
	}{
		{"genuine", env, 0xdeadbeef, true},
		{"empty", nil, 0, false},
		{"header only", env[:5], 0, false},
		{"one byte short", env[:len(env)-1], 0, false},
		{"version 2", append([]byte{2}, env[1:]...), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := envelope.KeyID(tc.env)
			if tc.wantOK {
				if err != nil || id != tc.want {
					t.Errorf("KeyID = %#x, %v; want %#x", id, err, tc.want)
				}
				return
			}
			if err != envelope.ErrOpen || id != 0 {
				t.Errorf("KeyID = %#x, %v; want 0, ErrOpen", id, err)
			}
		})
	}
}

// TestKeyConcurrentUse runs under -race: one Key serves many goroutines.
func TestKeyConcurrentUse(t *testing.T) {
	k := testKey(t, 1, "a")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			ad := testAD
			ad.Row = fmt.Sprint("row", g)
			for i := range 200 {
				pt := []byte(fmt.Sprint(g, i))
				env, err := envelope.Seal(k, ad, pt, nil)
				if err != nil {
					errs <- err
					return
				}
				got, err := envelope.Open(k, ad, env)
				if err != nil || !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("goroutine %d: round trip %d failed: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
