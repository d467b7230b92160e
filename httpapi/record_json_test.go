package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"strongroom.dev/strongroom"
)

// TestRecordJSON: the hand-written record encoding equals encoding/json's.
func TestRecordJSON(t *testing.T) {
	client := strongroom.ClientID("01900000-0000-7000-8000-0000000000cc")
	when := time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.UTC)
	for _, rec := range []strongroom.Record{
		{ID: "01900000-0000-7000-8000-000000000001", Data: []byte(`{"a":"Zoë <b>&","n":1.50}`), Version: 1, CreatedAt: when, UpdatedAt: when},
		{ID: "01900000-0000-7000-8000-000000000002", Data: []byte(`{}`), ClientID: &client, Version: 42,
			CreatedAt: when, UpdatedAt: when.Add(time.Hour + 7*time.Nanosecond)},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(toRecord(rec)); err != nil {
			t.Fatal(err)
		}
		if got := appendRecord(nil, &rec); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendRecord:\n got %s\nwant %s", got, want.Bytes())
		}
	}
}
