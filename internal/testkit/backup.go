package testkit

import (
	"context"
	"testing"

	"strongroom.dev/strongroom/backup"
)

// OpenBackupLocation opens a backup location in a temporary folder, closed
// when the test ends.
func OpenBackupLocation(t testing.TB) *backup.Location {
	t.Helper()
	loc, err := backup.OpenLocation(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("opening a backup location: %v", err)
	}
	t.Cleanup(func() { _ = loc.Close() })
	return loc
}
