package retention_test

import (
	"errors"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/retention"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    strongroom.RetentionPolicy
		path string // "" when valid
	}{
		{"keep", strongroom.RetentionPolicy{}, ""},
		{"created", strongroom.RetentionPolicy{Days: 30, From: "created"}, ""},
		{"updated", strongroom.RetentionPolicy{Days: 1, From: "updated"}, ""},
		{"field", strongroom.RetentionPolicy{Days: 365, From: "field", Field: "contract.end"}, ""},
		{"negative", strongroom.RetentionPolicy{Days: -1, From: "created"}, "/days"},
		{"too long", strongroom.RetentionPolicy{Days: retention.MaxDays + 1, From: "created"}, "/days"},
		{"keep with from", strongroom.RetentionPolicy{From: "created"}, "/days"},
		{"no from", strongroom.RetentionPolicy{Days: 3}, "/from"},
		{"unknown from", strongroom.RetentionPolicy{Days: 3, From: "accessed"}, "/from"},
		{"field without name", strongroom.RetentionPolicy{Days: 3, From: "field"}, "/field"},
		{"field hostile", strongroom.RetentionPolicy{Days: 3, From: "field", Field: "a'; DROP TABLE records; --"}, "/field"},
		{"field with created", strongroom.RetentionPolicy{Days: 3, From: "created", Field: "x"}, "/field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := retention.Validate(tc.p)
			var fe *retention.FieldError
			switch {
			case tc.path == "" && err != nil:
				t.Fatalf("Validate(%+v) = %v, want nil", tc.p, err)
			case tc.path != "" && (!errors.As(err, &fe) || fe.Path != tc.path):
				t.Fatalf("Validate(%+v) = %v, want an error at %s", tc.p, err, tc.path)
			}
		})
	}
}

func TestCutoffBoundary(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p := strongroom.RetentionPolicy{Days: 10, From: "created"}
	cut := retention.Cutoff(p, now)
	if want := time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC); !cut.Equal(want) {
		t.Fatalf("cutoff %v, want %v", cut, want)
	}
	if retention.Expired(cut, cut) {
		t.Error("a record exactly 10 days old is expired; it must be kept")
	}
	if !retention.Expired(cut.Add(-time.Microsecond), cut) {
		t.Error("a record 10 days and 1µs old is kept; it must be expired")
	}
}

func TestAnchor(t *testing.T) {
	for _, tc := range []struct {
		name, field, data string
		want              time.Time
		err               bool
	}{
		{"date", "ends", `{"ends":"2026-01-02"}`, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), false},
		{"date-time with zone", "ends", `{"ends":"2026-01-02T10:00:00+02:00"}`, time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC), false},
		{"nested", "c.end", `{"c":{"end":"2025-12-31"}}`, time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{"missing", "ends", `{"other":"2026-01-02"}`, time.Time{}, true},
		{"number", "ends", `{"ends":20260102}`, time.Time{}, true},
		{"not a date", "ends", `{"ends":"soon"}`, time.Time{}, true},
		{"path through scalar", "a.b", `{"a":"x"}`, time.Time{}, true},
		{"impossible date", "ends", `{"ends":"2026-02-30"}`, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := retention.Anchor(tc.field, []byte(tc.data))
			if tc.err {
				if !errors.Is(err, retention.ErrNoAnchor) {
					t.Fatalf("Anchor = %v, %v; want ErrNoAnchor", got, err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("Anchor = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := retention.Anchor("x", []byte("{")); err == nil || errors.Is(err, retention.ErrNoAnchor) {
		t.Errorf("Anchor of malformed JSON = %v, want a decoding error", err)
	}
}

func TestEffective(t *testing.T) {
	own := &strongroom.RetentionPolicy{Days: 1, From: "created"}
	org := &strongroom.RetentionPolicy{Days: 2, From: "updated"}
	if got := retention.Effective(own, org); got != *own {
		t.Errorf("own policy not preferred: %+v", got)
	}
	if got := retention.Effective(nil, org); got != *org {
		t.Errorf("org default not used: %+v", got)
	}
	if got := retention.Effective(nil, nil); got.Active() {
		t.Errorf("no policy deletes: %+v", got)
	}
}

// FuzzAnchor: any bytes give a time or an error, never a panic.
func FuzzAnchor(f *testing.F) {
	for _, s := range []string{`{"d":"2026-01-02"}`, `{"d":{"e":"2026-01-02T00:00:00Z"}}`, `{"d":1}`, `[]`, `{`} {
		f.Add("d", s)
	}
	f.Add("d.e", `{"d":{"e":"2026-01-02T00:00:00Z"}}`)
	f.Fuzz(func(t *testing.T, field, data string) {
		_, _ = retention.Anchor(field, []byte(data))
	})
}
