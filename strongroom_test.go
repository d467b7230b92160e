package strongroom_test

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
)

// goPackages returns every package folder of the module with its non-test files
// parsed (imports and package doc comments only).
func goPackages(t *testing.T) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "tools") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestPackageDocs: every package says what it is for (STYLE.md).
func TestPackageDocs(t *testing.T) {
	for dir, files := range goPackages(t) {
		documented := false
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if af.Doc != nil && strings.TrimSpace(af.Doc.Text()) != "" {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s has no doc comment", dir)
		}
	}
}

// TestImports keeps the shape of STYLE.md: the root package uses only the
// standard library, and cryptographic primitives that encrypt stay in the
// packages made for them.
func TestImports(t *testing.T) {
	cryptoHomes := map[string]bool{"envelope": true, "keyring": true}
	for dir, files := range goPackages(t) {
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if dir == "." && strings.Contains(strings.SplitN(path, "/", 2)[0], ".") {
					t.Errorf("%s: the root package imports %s; it may use only the standard library", f, path)
				}
				if (path == "crypto/cipher" || path == "crypto/aes") && !cryptoHomes[filepath.Base(dir)] {
					t.Errorf("%s imports %s: encryption belongs in envelope or keyring", f, path)
				}
			}
		}
	}
}

// TestNoMachinePaths: nothing in the repository names a path of a developer's
// machine. It reads the files git tracks or would track (build outputs such as a binary in the
// root are ignored and not part of the repository), or every file when git is
// not available.
func TestNoMachinePaths(t *testing.T) {
	bad := []string{"/" + "work/", "/" + "root/", "/" + "home/", "/" + "Users/"}
	var files []string
	if out, err := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" && !strings.Contains(f, "testdata/") {
				files = append(files, f)
			}
		}
	} else {
		err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 50 {
		t.Fatalf("only %d files found to check", len(files))
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range bad {
			if strings.Contains(string(b), p) {
				t.Errorf("%s names the machine path %q", path, p)
			}
		}
	}
}

func TestVisibility(t *testing.T) {
	a, b := strongroom.ClientID("a"), strongroom.ClientID("b")
	limited := strongroom.Visibility{Clients: []strongroom.ClientID{a}}
	for _, tc := range []struct {
		v      strongroom.Visibility
		client *strongroom.ClientID
		want   bool
	}{
		{strongroom.Visibility{All: true}, &b, true},
		{limited, nil, true},
		{limited, &a, true},
		{limited, &b, false},
		{strongroom.Visibility{}, &a, false},
	} {
		if got := tc.v.Allows(tc.client); got != tc.want {
			t.Errorf("%+v.Allows(%v) = %v, want %v", tc.v, tc.client, got, tc.want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	e := strongroom.Errorf(strongroom.ENOTFOUND, "record not found")
	wrapped := fmt.Errorf("reading: %w", e)
	if got := strongroom.ErrorCode(wrapped); got != strongroom.ENOTFOUND {
		t.Errorf("code of wrapped error = %q", got)
	}
	if got := strongroom.ErrorMessage(errors.New("pq: secret detail")); got != "internal error" {
		t.Errorf("internal error message leaked: %q", got)
	}
	if strongroom.ErrorCode(nil) != "" || strongroom.ErrorCode(errors.New("x")) != strongroom.EINTERNAL {
		t.Error("ErrorCode of nil or a plain error")
	}
}
