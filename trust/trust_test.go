package trust

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
	"time"
)

func TestWriteQuestionnaire(t *testing.T) {
	p := &Page{Claims: []Claim{
		{ID: "a", Section: "S1", Question: "Q, with comma?", Answer: "line one\nline \"two\"", Source: "setting: --a"},
		{ID: "b", Section: "S2", Question: "Formula?", Answer: "=cmd|' /C calc'!A0", Source: "+evil"},
		{ID: "c", Section: "S1", Question: "Other?", Answer: "-1", Source: "@x"},
	}}
	var b bytes.Buffer
	if err := WriteQuestionnaire(&b, p); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{QuestionnaireHeader,
		{"a", "Q, with comma?", "line one\nline \"two\"", "setting: --a"},
		{"b", "Formula?", "'=cmd|' /C calc'!A0", "'+evil"},
		{"c", "Other?", "'-1", "'@x"}}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	secs := p.Sections()
	if len(secs) != 2 || secs[0].Name != "S1" || len(secs[0].Claims) != 2 || secs[1].Claims[0].ID != "b" {
		t.Errorf("sections %+v", secs)
	}
	if p.Claim("c") == nil || p.Claim("z") != nil {
		t.Error("Claim lookup")
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{-time.Hour: "in the future", 0: "less than a day", 23 * time.Hour: "less than a day",
		25 * time.Hour: "1 day", 24 * 10 * time.Hour: "10 days"} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
}
