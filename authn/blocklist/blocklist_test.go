package blocklist

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLen(t *testing.T) {
	if n := Len(); n < 100_000 {
		t.Fatalf("Len() = %d, want at least 100,000", n)
	}
}

func TestContainsListed(t *testing.T) {
	for _, tc := range []struct{ name, password string }{
		{"password", "password"},
		{"123456", "123456"},
		{"qwerty", "qwerty"},
		{"iloveyou", "iloveyou"},
		{"upper case", "PASSWORD"},
		{"mixed case", "ILoveYou"},
		{"fullwidth", "ｐａｓｓｗｏｒｄ"},
		{"fullwidth upper case", "ＰＡＳＳＷＯＲＤ"},
		{"fullwidth digits", "１２３４５６"},
		{"ligature", "ﬁrebird"}, // U+FB01 LATIN SMALL LIGATURE FI
		{"surrounding white space", " \tqwerty\r\n"},
		{"ideographic and no-break spaces", "\u3000iloveyou\u00a0"},
		{"15 characters or more", "qwertyuiopasdfghjkl"},
		{"with digits", "Password1234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !Contains(tc.password) {
				t.Errorf("Contains(%q) = false, want true", tc.password)
			}
		})
	}
}

func TestContainsUnlisted(t *testing.T) {
	for _, s := range []string{"", " ", "\t\r\n", "\xff", "\xff\xfe\xfd", "correct horse battery staple", "Tr0ub4dor&3 but longer"} {
		if Contains(s) {
			t.Errorf("Contains(%q) = true, want false", s)
		}
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%&*+-=?@^_~"
	rnd := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 20)
	for range 10_000 {
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		if Contains(string(b)) {
			t.Errorf("Contains(%q) = true for a random string", b)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Password", "password"},
		{"ＰＡＳＳ", "pass"},
		{"ﬁ", "fi"},
		{"Ω", "ω"},       // U+2126 OHM SIGN: NFKC gives U+03A9, then lower case
		{"K", "k"},       // U+212A KELVIN SIGN
		{"e\u0301", "é"}, // composed
		// J + caron has no composed form, j + caron has (U+01F0): NFKC again after lower casing.
		{"J\u030C", "\u01F0"},
		{"ÉCOLE", "école"},             // lower case keeps the accent
		{"İ", "i"},                     // U+0130: Go's simple lower-case mapping gives plain i
		{"ß", "ß"},                     // lower case, not case folding
		{"  x  ", "x"},                 // ASCII spaces
		{"\u3000x\u00a0", "x"},         // ideographic and no-break spaces
		{"a\xffb", "a\uFFFDb"},         // invalid byte
		{"a\xff\xfe\xfdb", "a\uFFFDb"}, // a run of invalid bytes
		{"\xff", "\uFFFD"},
		{"", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Normalize(tc.want); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want it unchanged", tc.want, got)
		}
	}
}

// TestNormalizeEveryRune checks that Normalize is idempotent on every code
// point, alone, between letters and before a combining mark (which lower
// casing can make composable), where the fuzz target samples only.
func TestNormalizeEveryRune(t *testing.T) {
	if testing.Short() {
		t.Skip("slow; -short")
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		// Unassigned and private-use code points (most of the range) are left
		// alone by both NFKC and lower casing.
		if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf) {
			continue
		}
		for _, s := range []string{string(r), "A" + string(r) + "Z", string(r) + "\u030C"} {
			n := Normalize(s)
			if again := Normalize(n); again != n {
				t.Errorf("Normalize(%q) = %q, but Normalize of that = %q", s, n, again)
			}
		}
	}
}

// gunzip returns the decompressed bytes of a gzip stream.
func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEmbeddedForm checks that passwords.fc.gz is what the generator writes:
// normalized, distinct, sorted entries in the canonical encoding (encoding the
// decoded entries again gives the same bytes, before compression).
func TestEmbeddedForm(t *testing.T) {
	l, err := decode(embedded)
	if err != nil {
		t.Fatalf("decoding the embedded list: %v", err)
	}
	entries := make([]string, 0, l.len())
	for i := range l.len() {
		e := l.entry(i)
		switch {
		case e == "" || len(e) > MaxEntryBytes || strings.Contains(e, "\n"):
			t.Fatalf("entry %d (%q) is empty, too long or has a newline", i, e)
		case Normalize(e) != e:
			t.Fatalf("entry %d (%q) is not normalized: %q", i, e, Normalize(e))
		case i > 0 && entries[i-1] >= e:
			t.Fatalf("entry %d (%q) does not sort after %q", i, e, entries[i-1])
		}
		entries = append(entries, e)
	}
	var raw bytes.Buffer
	if err := encodeRaw(&raw, entries); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw.Bytes(), gunzip(t, embedded)) {
		t.Errorf("encoding the decoded entries again gives other bytes: passwords.fc.gz is not the generator's output")
	}
	var n int
	for e := range All() {
		if e != entries[n] {
			t.Fatalf("All() entry %d = %q, want %q", n, e, entries[n])
		}
		n++
	}
	if n != len(entries) || Len() != len(entries) {
		t.Errorf("All() gave %d entries, Len() = %d, want %d", n, Len(), len(entries))
	}
}

func TestContainsConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if !Contains("password") || Contains("not a listed password at all") {
					t.Error("wrong answer under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestMemory logs what the decoded list holds on the heap (the package doc
// quotes it): go test -run TestMemory -v ./authn/blocklist/
func TestMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := decode(embedded)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	want := len(l.data) + 4*cap(l.off)
	t.Logf("%d entries: data %d bytes + offsets %d bytes = %d bytes; heap in use grew by %d bytes",
		l.len(), len(l.data), 4*cap(l.off), want, int64(after.HeapAlloc)-int64(before.HeapAlloc))
	runtime.KeepAlive(l)
}

func BenchmarkContains(b *testing.B) {
	Len() // load outside the timed loop
	for _, bc := range []struct{ name, password string }{
		{"listed", "iloveyou"},
		{"listed upper case", "ILoveYou2015"},
		{"unlisted 20", "vK3#pq9ZmT!w2Lr8sYx4"},
		{"unlisted 64", strings.Repeat("tK7!", 16)},
		{"fullwidth", "ｐａｓｓｗｏｒｄ"},
		{"non-ASCII unlisted", "Grüße aus Köln, 北京 und Zoë"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Contains(bc.password)
			}
		})
	}
}

// BenchmarkLoad measures decoding the embedded list, which the first lookup
// pays once.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	var l *list
	for b.Loop() {
		var err error
		if l, err = decode(embedded); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(l.data)+4*cap(l.off)), "heap-bytes")
}

func FuzzContains(f *testing.F) {
	for _, s := range []string{"password", "ＰＡＳＳＷＯＲＤ", " qwerty\r\n", "\xff\xfe", "İ", "ß", "\u0301x", "ﷺ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Contains(s)
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q, not valid UTF-8", s, n)
		}
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize(%q) = %q, but Normalize of that = %q", s, n, again)
		}
		if Contains(n) != got {
			t.Fatalf("Contains(%q) = %v, but Contains(Normalize) = %v", s, got, !got)
		}
	})
}
