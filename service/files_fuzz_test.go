package service

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/envelope"
)

// The fuzz target's fixed place and key: the seed corpus in
// testdata/fuzz/FuzzOpenFileStream was sealed for them.
var (
	fuzzTenant = strongroom.TenantID("01a1ff62-cead-735f-8d05-a99312fad713")
	fuzzFile   = strongroom.File{CollectionID: "01a1ff62-cead-735f-8d05-a99312fad714", RecordID: "01a1ff62-cead-735f-8d05-a99312fad715",
		ID: "01a1ff62-cead-735f-8d05-a99312fad716"}
	fuzzPlain = []byte("fuzz file content, sealed for one place")
)

func fuzzFileKey(t testing.TB) envelope.Key {
	k, err := envelope.NewKey(7, bytes.Repeat([]byte{0x42}, envelope.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sealFuzzFile seals plain for the fuzz place with a salt from seed.
func sealFuzzFile(t testing.TB, plain []byte, seed byte) []byte {
	var out bytes.Buffer
	w, err := envelope.NewWriter(&out, fuzzFileKey(t), fileAD(fuzzTenant, fuzzFile.CollectionID, fuzzFile.RecordID, fuzzFile.ID),
		bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// FuzzOpenFileStream: opening a file's blob never panics on any bytes and
// gives back the file's content only when the blob is the genuine sealed
// content of that file at the size and SHA-256 of its metadata; anything
// else ends in an error (never io.EOF after a wrong or partial content).
func FuzzOpenFileStream(f *testing.F) {
	genuine := sealFuzzFile(f, fuzzPlain, 1)
	f.Add(genuine)
	f.Add(genuine[:len(genuine)-1])
	f.Add(genuine[:37])
	f.Add(sealFuzzFile(f, nil, 2))
	f.Add(sealFuzzFile(f, fuzzPlain[:10], 3))
	key := fuzzFileKey(f)
	sum := sha256.Sum256(fuzzPlain)
	meta := fuzzFile
	meta.Size, meta.SHA256 = int64(len(fuzzPlain)), sum[:]
	lookup := func(id uint32) (envelope.Key, bool) { return key, id == key.ID() }
	f.Fuzz(func(t *testing.T, blob []byte) {
		r, err := openFileStream(bytes.NewReader(blob), fuzzTenant, lookup, &meta)
		if err != nil {
			if !errors.Is(err, envelope.ErrOpen) && !errors.Is(err, errFileMismatch) {
				t.Fatalf("opening: unexpected error %v", err)
			}
			return
		}
		got, err := io.ReadAll(r)
		if err == nil && !bytes.Equal(got, fuzzPlain) {
			t.Fatalf("read %q to the end without an error, want the file's content", got)
		}
		if err != nil && !errors.Is(err, envelope.ErrOpen) && !errors.Is(err, errFileMismatch) {
			t.Fatalf("reading: unexpected error %v", err)
		}
	})
}

// TestFuzzSeedsOpen: the genuine seed opens, a sealed empty or shorter
// content is refused by the metadata check, a cut one by the stream.
func TestFuzzSeedsOpen(t *testing.T) {
	key := fuzzFileKey(t)
	sum := sha256.Sum256(fuzzPlain)
	meta := fuzzFile
	meta.Size, meta.SHA256 = int64(len(fuzzPlain)), sum[:]
	lookup := func(id uint32) (envelope.Key, bool) { return key, id == key.ID() }
	read := func(b []byte) ([]byte, error) {
		r, err := openFileStream(bytes.NewReader(b), fuzzTenant, lookup, &meta)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	genuine := sealFuzzFile(t, fuzzPlain, 1)
	if got, err := read(genuine); err != nil || !bytes.Equal(got, fuzzPlain) {
		t.Fatalf("genuine: %q, %v", got, err)
	}
	if _, err := read(sealFuzzFile(t, fuzzPlain[:10], 3)); !errors.Is(err, errFileMismatch) {
		t.Errorf("shorter content: %v", err)
	}
	if _, err := read(genuine[:len(genuine)-1]); !errors.Is(err, envelope.ErrOpen) {
		t.Errorf("cut: %v", err)
	}
	other := fuzzFile
	other.ID = "01a1ff62-cead-735f-8d05-a99312fad717"
	if _, err := openFileStream(bytes.NewReader(genuine), fuzzTenant, lookup, &other); !errors.Is(err, envelope.ErrOpen) {
		t.Errorf("another file's place: %v", err)
	}
	if _, err := openFileStream(bytes.NewReader(genuine), "01a1ff62-cead-735f-8d05-a99312fad718", lookup, &meta); !errors.Is(err, envelope.ErrOpen) {
		t.Errorf("another tenant: %v", err)
	}
}
