package monitor

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"strongroom.dev/strongroom"
)

// BenchmarkObserve measures what judging one event costs, on a mix of record
// lists by 1000 principals and sign-in failures from 1000 networks against
// 5000 accounts, beside the cost of only decoding each event's metadata (the
// least any judge of reads must do), in the same run: docs/benchmarks.md
// reports the ratio. The monitor must keep up with the audit log's appends.
func BenchmarkObserve(b *testing.B) {
	var s script
	events := make([]*strongroom.AuditEvent, 0, 10000)
	for i := range cap(events) {
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		if i%4 == 0 {
			events = append(events, s.failure(fmt.Sprintf("acct%d", i%5000), fmt.Sprintf("198.%d.%d.9", i%250, i/250%4), at))
		} else {
			events = append(events, s.read(fmt.Sprintf("p%d", i%1000), 20, at))
		}
	}
	b.Run("baseline=decode-metadata", func(b *testing.B) {
		var meta struct {
			Records []json.RawMessage `json:"records"`
		}
		for i := 0; b.Loop(); i++ {
			_ = json.Unmarshal(events[i%len(events)].Metadata, &meta)
		}
	})
	b.Run("observe", func(b *testing.B) {
		d, err := NewDetector(Thresholds{})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			e := *events[i%len(events)]
			e.Time = e.Time.Add(time.Duration(i/len(events)) * 100 * time.Second) // time moves on each lap
			d.Observe(&e)
		}
	})
}
