package audit_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/auditlog"
)

func TestFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := audit.OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{key: newEnvKey(t)}
	tenants := []strongroom.TenantID{tenantA, strongroom.PlatformTenant, "../../etc/passwd", "x-74", "", "with space"}
	for i, tenant := range tenants {
		c := auditlog.Checkpoint{Tenant: tenant, Seq: int64(i + 1), Head: auditlog.Genesis(tenant)}
		if err := c.Sign(e.key); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := f.Append(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := f.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	want := []strongroom.TenantID{"", "../../etc/passwd", strongroom.PlatformTenant, tenantA, "with space", "x-74"}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(dir)
	for _, ent := range entries {
		fi, _ := ent.Info()
		if fi.Mode().Perm() != 0o600 || strings.ContainsAny(ent.Name(), "/ ") {
			t.Errorf("%s: mode %o", ent.Name(), fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %o, want 700", fi.Mode().Perm())
	}
	cps, problems, err := f.Read(tenantA)
	if err != nil || len(problems) != 0 || len(cps) != 2 || cps[0].Verify(e.pub()) != nil {
		t.Fatalf("Read = %v, %v, %v", cps, problems, err)
	}
	// Lines that are not checkpoints of the tenant are problems, not errors.
	path := filepath.Join(dir, string(tenantA)+".jsonl")
	other, _ := os.ReadFile(filepath.Join(dir, string(strongroom.PlatformTenant)+".jsonl"))
	fh, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = fh.WriteString("not json\n" + strings.SplitN(string(other), "\n", 2)[0] + "\n" + strings.Repeat("x", 70000) + "\n")
	fh.Close()
	cps, problems, err = f.Read(tenantA)
	if err != nil || len(cps) != 2 || len(problems) != 3 {
		t.Errorf("Read of a damaged file: %d checkpoints, problems %v, %v", len(cps), problems, err)
	}
	if cps, problems, err := f.Read("nobody"); cps != nil || problems != nil || err != nil {
		t.Errorf("Read of a missing file: %v %v %v", cps, problems, err)
	}
}
