package testkit

import (
	"fmt"
	"os"
	"testing"
)

// SkipOrFail skips the test with the formatted message, unless the
// environment variable requireEnv is "1": then the test fails with it.
//
// Helpers that need something outside Go, such as PostgreSQL or a browser,
// call it when that thing is missing. A developer's machine skips those tests;
// CI sets the variable (STRONGROOM_REQUIRE_POSTGRES, STRONGROOM_REQUIRE_BROWSER)
// so that a missing dependency cannot pass as a skipped test.
func SkipOrFail(t testing.TB, requireEnv string, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure)", msg, requireEnv)
	}
	t.Skipf("%s (set %s=1 to make this a failure)", msg, requireEnv)
}
