package store

import "testing"

// Every table the termination purge deletes from needs the key its batches
// pick rows by; a table added to purgeOrder alone would fail every purge.
func TestPurgeKeysCoverPurgeOrder(t *testing.T) {
	for _, table := range purgeOrder {
		if purgeKeys[table] == "" {
			t.Errorf("purgeOrder lists %s, which has no entry in purgeKeys", table)
		}
	}
	if len(purgeKeys) != len(purgeOrder) {
		t.Errorf("purgeKeys has %d tables, purgeOrder %d", len(purgeKeys), len(purgeOrder))
	}
}
