package auditstream

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const lo, hi = time.Second, 5 * time.Minute
	tests := []struct {
		name string
		n    int
		r    float64
		want time.Duration
	}{
		{"first retry, least", 1, 0, 500 * time.Millisecond},
		{"first retry, most", 1, 0.999999, time.Second},
		{"second retry, least", 2, 0, time.Second},
		{"fourth retry, half way", 4, 0.5, 6 * time.Second},
		{"capped, least", 10, 0, 150 * time.Second},
		{"capped, most", 10, 0.999999, hi},
		{"far beyond the cap", 1000, 0.5, 225 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := backoff(tt.n, lo, hi, tt.r)
			if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("backoff(%d, %v, %v, %v) = %v, want %v", tt.n, lo, hi, tt.r, got, tt.want)
			}
		})
	}
}
