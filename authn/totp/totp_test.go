package totp

import (
	"bytes"
	"encoding/base32"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B, "12345678901234567890" in
// ASCII, base32-encoded.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

// rfcVectors are the SHA-1 rows of RFC 6238 Appendix B (8 digits).
var rfcVectors = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

// TestTOTPRFC6238Vectors shows that the library, configured as Validate configures
// it (SHA-1, 30 s, RFC 4226 truncation), reproduces the RFC's 8-digit codes, and
// that Validate accepts their 6-digit form (the low six digits) at the RFC's times.
func TestTOTPRFC6238Vectors(t *testing.T) {
	for _, v := range rfcVectors {
		eight := validateOpts
		eight.Digits = otp.DigitsEight
		got, err := totp.GenerateCodeCustom(rfcSecret, time.Unix(v.unix, 0), eight)
		if err != nil {
			t.Fatal(err)
		}
		if got != v.code {
			t.Errorf("T=%d: 8-digit code %s, want %s", v.unix, got, v.code)
		}

		step, err := Validate(rfcSecret, v.code[2:], time.Unix(v.unix, 0), 0)
		if err != nil {
			t.Errorf("T=%d: Validate(%s) = %v", v.unix, v.code[2:], err)
		}
		if want := v.unix / 30; step != want {
			t.Errorf("T=%d: step %d, want %d", v.unix, step, want)
		}
	}
}

// codeAt returns the 6-digit code of step.
func codeAt(t *testing.T, secret string, step int64) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), validateOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestValidateWindow(t *testing.T) {
	key, err := Generate("Strongroom", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	current := now.Unix() / 30
	for _, tc := range []struct {
		name    string
		offset  int64
		wantErr error
	}{
		{"two steps early", -2, ErrInvalid},
		{"one step early", -1, nil},
		{"current step", 0, nil},
		{"one step late", 1, nil},
		{"two steps late", 2, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := codeAt(t, key.Secret, current+tc.offset)
			if code == codeAt(t, key.Secret, current-1) && tc.offset != -1 ||
				code == codeAt(t, key.Secret, current) && tc.offset != 0 ||
				code == codeAt(t, key.Secret, current+1) && tc.offset != 1 {
				t.Skip("random secret gave colliding codes in the window")
			}
			step, err := Validate(key.Secret, code, now, 0)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
			}
			if err == nil && step != current+tc.offset {
				t.Errorf("step %d, want %d", step, current+tc.offset)
			}
		})
	}
}

func TestValidateReplay(t *testing.T) {
	now := time.Unix(1111111111, 0) // step 37037037
	current := now.Unix() / 30

	step, err := Validate(rfcSecret, codeAt(t, rfcSecret, current), now, 0)
	if err != nil || step != current {
		t.Fatalf("first use: step %d, %v", step, err)
	}
	for _, tc := range []struct {
		name     string
		code     string
		now      time.Time
		lastStep int64
		want     error
		wantStep int64
	}{
		{"same code again", codeAt(t, rfcSecret, current), now, step, ErrReplayed, 0},
		{"same code in the next step", codeAt(t, rfcSecret, current), now.Add(30 * time.Second), step, ErrReplayed, 0},
		{"earlier code of the window after a later one", codeAt(t, rfcSecret, current-1), now, step, ErrReplayed, 0},
		{"earlier code after the latest step was used", codeAt(t, rfcSecret, current), now, current + 1, ErrReplayed, 0},
		{"next code", codeAt(t, rfcSecret, current+1), now.Add(30 * time.Second), step, nil, current + 1},
		{"wrong code is invalid, not replayed", "000000", now, step, ErrInvalid, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Validate(rfcSecret, tc.code, tc.now, tc.lastStep)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Validate = %v, want %v", err, tc.want)
			}
			if got != tc.wantStep {
				t.Errorf("step %d, want %d", got, tc.wantStep)
			}
		})
	}
}

func TestValidateMalformedCodes(t *testing.T) {
	now := time.Unix(59, 0) // the RFC's first row: the code is 287082
	for _, tc := range []struct {
		name string
		code string
		want error
	}{
		{"correct", "287082", nil},
		{"grouped with a space", "287 082", nil},
		{"surrounded by spaces", "  287082 ", nil},
		{"empty", "", ErrInvalid},
		{"only spaces", "      ", ErrInvalid},
		{"five digits", "28708", ErrInvalid},
		{"seven digits", "2870820", ErrInvalid},
		{"eight-digit code", "94287082", ErrInvalid},
		{"letter", "28708a", ErrInvalid},
		{"sign", "+87082", ErrInvalid},
		{"tab", "287\t082", ErrInvalid},
		{"newline", "287082\n", ErrInvalid},
		{"hyphen", "287-082", ErrInvalid},
		{"full-width digits", "２８７０８２", ErrInvalid},
		{"Arabic-Indic digits", "٢٨٧٠٨٢", ErrInvalid},
		{"NUL", "287082\x00", ErrInvalid},
		{"too long with spaces", "287082" + strings.Repeat(" ", 20), ErrInvalid},
		{"huge", strings.Repeat("1", 1<<20), ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(rfcSecret, tc.code, now, 0)
			if !errors.Is(err, tc.want) {
				t.Errorf("Validate(%q) = %v, want %v", tc.code, err, tc.want)
			}
		})
	}
}

func TestValidateUnusableSecret(t *testing.T) {
	now := time.Unix(59, 0)
	for _, tc := range []struct{ name, secret string }{
		{"empty", ""},
		{"not base32", "not-base32!"},
		{"short", base32.StdEncoding.EncodeToString(make([]byte, 10))},
		{"too long", base32.StdEncoding.EncodeToString(make([]byte, 65))},
		{"newline inside", rfcSecret[:8] + "\n" + rfcSecret[8:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(tc.secret, "287082", now, 0)
			if err == nil || errors.Is(err, ErrInvalid) || errors.Is(err, ErrReplayed) {
				t.Errorf("Validate = %v, want an unusable-secret error", err)
			}
		})
	}
	// Malformed codes are refused before the secret is looked at.
	if _, err := Validate("", "12", now, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("malformed code with a bad secret: %v, want ErrInvalid", err)
	}
}

func TestValidateSecretForms(t *testing.T) {
	// Lower case and padding, as some systems store base32, are the same secret.
	now := time.Unix(59, 0)
	for _, s := range []string{rfcSecret, strings.ToLower(rfcSecret), rfcSecret + "====", " " + rfcSecret + " "} {
		if _, err := Validate(s, "287082", now, 0); err != nil {
			t.Errorf("Validate with secret %q: %v", s, err)
		}
	}
}

func TestValidateTimesAtTheEdges(t *testing.T) {
	// Before 1970 and far in the future nothing validates, and nothing panics.
	for _, now := range []time.Time{time.Unix(-1, 0), time.Unix(0, 0).Add(-time.Hour), time.Unix(1<<62, 0), time.Unix(-1<<62, 0)} {
		if _, err := Validate(rfcSecret, "287082", now, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("at %d: %v, want ErrInvalid", now.Unix(), err)
		}
	}
	// Step 0 is the first step: its code validates in its own window.
	if step, err := Validate(rfcSecret, codeAt(t, rfcSecret, 0), time.Unix(5, 0), -1); err != nil || step != 0 {
		t.Errorf("step 0: %d, %v", step, err)
	}
}

// countingReader yields 0, 1, 2, ...
type countingReader struct{ n byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

func TestTOTPGenerate(t *testing.T) {
	key, err := generate(&countingReader{}, "Strongroom", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	wantSecret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19})
	if key.Secret != wantSecret {
		t.Errorf("secret %q, want %q", key.Secret, wantSecret)
	}
	u, err := url.Parse(key.URI)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"scheme": u.Scheme, "type": u.Host, "label": u.Path}
	for k, v := range u.Query() {
		got[k] = strings.Join(v, ",")
	}
	want := map[string]string{
		"scheme": "otpauth", "type": "totp", "label": "/Strongroom:alice@example.com",
		"secret": wantSecret, "issuer": "Strongroom", "algorithm": "SHA1", "digits": "6", "period": "30",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("key URI (-want +got):\n%s", diff)
	}

	// A code from the new secret validates.
	now := time.Now()
	if _, err := Validate(key.Secret, codeAt(t, key.Secret, now.Unix()/30), now, 0); err != nil {
		t.Errorf("validating a code of the new secret: %v", err)
	}
}

func TestTOTPGenerateRandom(t *testing.T) {
	a, err := Generate("Strongroom", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate("Strongroom", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if a.Secret == b.Secret {
		t.Error("two keys share a secret")
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(a.Secret)
	if err != nil || len(raw) != SecretSize {
		t.Errorf("secret decodes to %d bytes, %v; want %d", len(raw), err, SecretSize)
	}
}

func TestTOTPGenerateRefuses(t *testing.T) {
	for _, tc := range []struct{ name, issuer, account string }{
		{"no issuer", "", "alice@example.com"},
		{"no account", "Strongroom", ""},
		{"colon in issuer", "Strong:room", "alice@example.com"},
		{"colon in account", "Strongroom", "alice:x@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Generate(tc.issuer, tc.account); err == nil {
				t.Error("Generate succeeded")
			}
		})
	}
	if _, err := generate(bytes.NewReader(make([]byte, 5)), "Strongroom", "alice@example.com"); err == nil {
		t.Error("generate with short randomness succeeded")
	}
}

func TestTOTPQRPNG(t *testing.T) {
	key, err := Generate("Strongroom", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, err := QRPNG(key.URI, 256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != 256 || got.Y != 256 {
		t.Errorf("image is %v, want 256x256", got)
	}

	for _, tc := range []struct {
		name string
		uri  string
		size int
	}{
		{"too small", key.URI, 16},
		{"too large", key.URI, 100000},
		{"not otpauth", "https://example.com/", 256},
		{"hotp", strings.Replace(key.URI, "otpauth://totp/", "otpauth://hotp/", 1), 256},
		{"too long", key.URI + "&x=" + strings.Repeat("a", 4096), 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := QRPNG(tc.uri, tc.size); err == nil {
				t.Error("QRPNG succeeded")
			}
		})
	}
}

// FuzzValidate: no input panics, and anything accepted is a step of the window
// after lastStep, for a code of six digits.
func FuzzValidate(f *testing.F) {
	f.Add(rfcSecret, "287082", int64(59), int64(0))
	f.Add(rfcSecret, "287 082", int64(59), int64(1))
	f.Add(rfcSecret, "94287082", int64(59), int64(0))
	f.Add("", "", int64(0), int64(0))
	f.Add("====", "000000", int64(-1), int64(-1))
	f.Add(strings.ToLower(rfcSecret), "081804", int64(1111111109), int64(37037036))
	f.Add(rfcSecret, "353130", int64(20000000000), int64(0))
	f.Add(rfcSecret, "123456", int64(1<<62), int64(-1<<62))
	f.Fuzz(func(t *testing.T, secret, code string, unix, lastStep int64) {
		step, err := Validate(secret, code, time.Unix(unix, 0), lastStep)
		if err != nil {
			if step != 0 {
				t.Errorf("error %v with step %d", err, step)
			}
			return
		}
		if d, ok := normalize(code); !ok || len(d) != Digits {
			t.Errorf("accepted malformed code %q", code)
		}
		if cur := floorDiv(unix, period); step < cur-1 || step > cur+1 || step <= lastStep {
			t.Errorf("accepted step %d at %d (current %d) after %d", step, unix, cur, lastStep)
		}
	})
}
