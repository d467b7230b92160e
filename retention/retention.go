// Package retention is the pure logic of retention policies (LIF-01): whether
// a policy is well formed, the cutoff it gives at a moment, and when a record
// whose age counts from a date in its data expires. The sweeper that applies
// policies lives in the service (it needs the store and the keys); this
// package decides, it never deletes.
package retention

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"strongroom.dev/strongroom"
)

// MaxDays bounds a policy (100 years).
const MaxDays = 36500

var fieldPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,7}$`)

// FieldError is a problem with one member of a policy; Path is a JSON pointer
// relative to the policy.
type FieldError struct {
	Path, Message string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Message }

// Validate checks a policy. Days 0 (keep) needs nothing else; otherwise From
// must be one of created, updated, field, and Field a dotted field path
// exactly when From is field.
func Validate(p strongroom.RetentionPolicy) error {
	if p.Days < 0 || p.Days > MaxDays {
		return &FieldError{"/days", fmt.Sprintf("must be 0 (keep) to %d", MaxDays)}
	}
	if p.Days == 0 {
		if p.From != "" || p.Field != "" {
			return &FieldError{"/days", "must be positive when from or field is set"}
		}
		return nil
	}
	switch p.From {
	case strongroom.RetainFromCreated, strongroom.RetainFromUpdated:
		if p.Field != "" {
			return &FieldError{"/field", "is only for from \"field\""}
		}
	case strongroom.RetainFromField:
		if !fieldPath.MatchString(p.Field) {
			return &FieldError{"/field", "must be a field path such as expires_on or contract.end"}
		}
	default:
		return &FieldError{"/from", "must be created, updated or field"}
	}
	return nil
}

// Cutoff is the moment before which a record's anchor must lie for it to be
// expired at now: a record exactly Days old is kept, one a microsecond older
// is not.
func Cutoff(p strongroom.RetentionPolicy, now time.Time) time.Time {
	return now.Add(-time.Duration(p.Days) * 24 * time.Hour)
}

// ErrNoAnchor is returned by Anchor when the record has no usable date.
var ErrNoAnchor = errors.New("retention: the record has no date in the policy's field")

// Anchor reads the date a field-based policy counts from in a record's
// canonical JSON: an RFC 3339 date-time, or a date (YYYY-MM-DD, midnight UTC).
// A missing field, or a value that is not such a string, is ErrNoAnchor: the
// record is kept.
func Anchor(field string, data []byte) (time.Time, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return time.Time{}, fmt.Errorf("retention: decoding record: %w", err)
	}
	for _, seg := range strings.Split(field, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return time.Time{}, ErrNoAnchor
		}
		if v, ok = m[seg]; !ok {
			return time.Time{}, ErrNoAnchor
		}
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, ErrNoAnchor
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, ErrNoAnchor
}

// Expired reports whether a record with anchor is expired under p at cutoff
// (Cutoff(p, now)).
func Expired(anchor, cutoff time.Time) bool { return anchor.Before(cutoff) }

// Effective is the policy that applies to a collection: its own, else the
// organization's default, else none.
func Effective(coll, org *strongroom.RetentionPolicy) strongroom.RetentionPolicy {
	switch {
	case coll != nil:
		return *coll
	case org != nil:
		return *org
	}
	return strongroom.RetentionPolicy{}
}
