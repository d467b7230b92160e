package service_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// FuzzReviewCSV: whatever an e-mail address or a note holds (they come from
// users), the evidence CSV parses back with one row per entry and every
// column in place, and no cell starts with a character that makes a
// spreadsheet evaluate it.
func FuzzReviewCSV(f *testing.F) {
	for _, s := range []string{"ada@example.com", "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "a,b\"c\nd", "\ttab", "\rcr", ""} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, email, note string) {
		now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
		d := &service.ReviewDetail{ReviewCampaign: strongroom.ReviewCampaign{ID: "c", Period: "2026-10-01", OpenedAt: now, DueAt: now},
			Entries: []strongroom.ReviewEntry{{UserID: "u1", Email: email, Role: "admin", Note: note, Decision: "keep"},
				{UserID: "u2", Email: "x@example.com", Role: "viewer", Clients: []strongroom.ClientID{"k1", "k2"}, LastSessionAt: &now}}}
		var buf bytes.Buffer
		if err := service.WriteReviewCSV(&buf, d); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not parse: %v\n%s", err, buf.String())
		}
		if len(recs) != 3 {
			t.Fatalf("%d rows, want 3", len(recs))
		}
		for _, r := range recs {
			if len(r) != 16 {
				t.Fatalf("%d columns, want 16: %q", len(r), r)
			}
			for _, c := range r {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Fatalf("cell %q would be evaluated", c)
				}
			}
		}
		if recs[2][9] != "k1 k2" || recs[2][8] != "viewer" || recs[1][12] != "keep" {
			t.Fatalf("columns out of place: %q", recs)
		}
	})
}
