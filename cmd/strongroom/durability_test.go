//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

// durabilityWriters is how many clients write at once, each with its own API
// key (the API rate limit is per key).
const durabilityWriters = 32

// durabilityTarget is where a durability run keeps its data.
type durabilityTarget struct {
	args  []string // flags for serve and audit verify
	env   []string // the child's environment
	owner func(context.Context) (*store.Store, error)
}

// TestDurabilityKill9 (issue "Audit": security invariant 4 under a crash): the
// real binary serves a concurrent write load and is killed with SIGKILL after
// a random 1-3 s. Restarted on the same data, every record whose POST was
// answered 201 is there, has its record.create event, and the audit chain
// verifies once the restarted server's sequencer has sealed the tail. Records
// committed but not acknowledged (in flight at the kill) may exist, but each
// with its event.
func TestDurabilityKill9(t *testing.T) {
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		testDurabilityKill9(t, bin, durabilityTarget{
			args: []string{"--data-dir", dir},
			env:  childEnv(),
			owner: func(ctx context.Context) (*store.Store, error) {
				return store.Open(ctx, store.Config{Path: filepath.Join(dir, "strongroom.db")})
			},
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db := testkit.NewPostgresDB(t) // migrated by its owner; serve runs as the application role
		dir := t.TempDir()             // the checkpoint folder
		key := filepath.Join(dir, "master.key")
		if _, _, err := keyring.CreateKeyFile(key, nil); err != nil {
			t.Fatal(err)
		}
		testDurabilityKill9(t, bin, durabilityTarget{
			args: []string{"--data-dir", dir, "--master-key-file", key},
			env:  childEnv("STRONGROOM_DATABASE=" + db.AppURL),
			owner: func(ctx context.Context) (*store.Store, error) {
				return store.Open(ctx, store.Config{URL: db.OwnerURL})
			},
		})
	})
}

// loadResult is what the writers saw.
type loadResult struct {
	acked      []string // IDs of records whose POST answered 201
	unanswered int      // requests cut off by the kill: not acknowledged
	limited    int      // 429 answers (retried)
	unexpected []string // anything else: a failure
}

func testDurabilityKill9(t *testing.T, bin string, target durabilityTarget) {
	ctx := context.Background()
	began := time.Now()
	srv := startServeProcess(t, bin, target.env, target.args...)
	api := newAPIClient(srv.url, durabilityWriters)
	acct := api.create(t, "/api/v1/signup", "", map[string]string{"email": "durable@example.com",
		"password": "correct horse battery staple", "organization": "Durable Org"})
	token, org := acct["token"].(string), acct["organization"].(map[string]any)["id"].(string)
	coll := api.create(t, "/api/v1/orgs/"+org+"/collections", token, map[string]any{"name": "notes",
		"schema": map[string]any{"type": "object"}})["id"].(string)
	keys := make([]string, durabilityWriters)
	for i := range keys {
		keys[i] = api.create(t, "/api/v1/orgs/"+org+"/api-keys", token,
			map[string]string{"name": fmt.Sprintf("writer %d", i), "role": "editor"})["secret"].(string)
	}
	recs := "/api/v1/orgs/" + org + "/collections/notes/records"

	// The load, and SIGKILL in the middle of it.
	killAfter := time.Second + rand.N(2*time.Second)
	load := runWriteLoad(t, api, recs, keys, killAfter, func() { srv.kill9(t) })
	if len(load.unexpected) > 0 {
		t.Fatalf("%d unexpected answers before the kill, first: %s", len(load.unexpected), load.unexpected[0])
	}
	if len(load.acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	t.Logf("killed after %v: %d records acknowledged (%.0f/s), %d requests cut off, %d answered 429",
		killAfter.Round(time.Millisecond), len(load.acked), float64(len(load.acked))/killAfter.Seconds(),
		load.unanswered, load.limited)

	// Restart on the same data: every acknowledged record is there.
	restarted := time.Now()
	srv = startServeProcess(t, bin, target.env, target.args...)
	t.Logf("restarted in %v", time.Since(restarted).Round(time.Millisecond))
	api = newAPIClient(srv.url, durabilityWriters)
	missing := readBack(t, api, recs, keys, load.acked)
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged records are lost after the kill, e.g. %s", len(missing), len(load.acked), missing[0])
	}

	// The restarted server's sequencer takes the lease once the killed one's
	// has expired (at most 15 s), then seals the tail.
	st, err := target.owner(ctx)
	if err != nil {
		t.Fatalf("opening the store as its owner: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	tenant := strongroom.TenantID(org)
	testkit.WaitFor(t, 45*time.Second, func() bool {
		var pending []strongroom.AuditEvent
		err := st.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
			last, err := tx.LastAuditSeal(ctx)
			if err == nil {
				pending, err = tx.AuditEventsBetween(ctx, last.Seq, math.MaxInt64, 1)
			}
			return err
		})
		if err != nil {
			t.Fatalf("reading the audit chain: %v", err)
		}
		return len(pending) == 0
	})
	t.Logf("chain sealed %v after the restart", time.Since(restarted).Round(time.Millisecond))
	srv.stop(t) // the sequencer seals and checkpoints once more, and releases the lease

	// Every acknowledged record has its record.create event, and every record
	// that committed (acknowledged or not) has exactly one.
	created := map[string]int{}
	var records int64
	err = st.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
		for after := int64(0); ; {
			evs, err := tx.AuditEvents(ctx, after, 1000)
			if err != nil || len(evs) == 0 {
				return err
			}
			for _, e := range evs {
				if e.Action == "record.create" && e.Result == strongroom.ResultSuccess {
					created[e.TargetID]++
				}
			}
			after = evs[len(evs)-1].Seq
		}
	})
	if err == nil {
		err = st.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
			var err error
			records, err = tx.CountRecords(ctx, strongroom.CollectionID(coll))
			return err
		})
	}
	if err != nil {
		t.Fatalf("reading what was stored: %v", err)
	}
	var noEvent []string
	for _, id := range load.acked {
		if created[id] == 0 {
			noEvent = append(noEvent, id)
		}
	}
	if len(noEvent) > 0 {
		t.Errorf("%d acknowledged records have no record.create event, e.g. %s", len(noEvent), noEvent[0])
	}
	for id, n := range created {
		if n != 1 {
			t.Errorf("record %s has %d record.create events", id, n)
		}
	}
	if records != int64(len(created)) {
		t.Errorf("%d records stored but %d record.create events: a change committed without its event or the reverse", records, len(created))
	}
	t.Logf("%d records stored, %d acknowledged, %d committed but cut off before the answer",
		records, len(load.acked), records-int64(len(load.acked)))

	// The chain verifies, with every event sealed.
	code, out, errOut := runBinary(t, bin, target.env, append([]string{"audit", "verify", "--log-level", "error"}, target.args...)...)
	if code != 0 {
		t.Fatalf("audit verify after the kill and restart: exit %d:\n%s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`(?m)^ok   ` + regexp.QuoteMeta(org) + `: (\d+) events, (\d+) sealed \(head seq \d+\), 0 unsealed;`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("audit verify does not report the organization's chain as fully sealed:\n%s", out)
	}
	if events, _ := strconv.Atoi(m[1]); m[1] != m[2] || events < len(created) {
		t.Errorf("organization chain: %s events, %s sealed; want all sealed and at least %d", m[1], m[2], len(created))
	}
	t.Logf("audit verify: %s events in the organization's chain, all sealed; whole run %v",
		m[1], time.Since(began).Round(time.Millisecond))
}

// runWriteLoad runs one writer per key, each creating records as fast as the
// server answers, and calls kill after killAfter. It returns once every writer
// has stopped: after the kill, every request fails.
func runWriteLoad(t *testing.T, api *apiClient, path string, keys []string, killAfter time.Duration, kill func()) loadResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var killed atomic.Bool
	results := make([]loadResult, len(keys))
	var wg sync.WaitGroup
	for w, key := range keys {
		wg.Go(func() {
			res := &results[w]
			for n := 0; ctx.Err() == nil; n++ {
				status, body, err := api.do(ctx, http.MethodPost, path, key,
					map[string]any{"data": map[string]int{"writer": w, "n": n}})
				switch {
				case err != nil && killed.Load():
					res.unanswered++
					return
				case err != nil:
					res.unexpected = append(res.unexpected, "before the kill: "+err.Error())
					return
				case status == http.StatusCreated:
					var rec struct{ ID string }
					if err := json.Unmarshal(body, &rec); err != nil || rec.ID == "" {
						res.unexpected = append(res.unexpected, fmt.Sprintf("201 without an id: %s", body))
						return
					}
					res.acked = append(res.acked, rec.ID)
				case status == http.StatusTooManyRequests:
					res.limited++
					backOff(ctx)
				default:
					res.unexpected = append(res.unexpected, fmt.Sprintf("%d %s", status, body))
					return
				}
			}
		})
	}
	timer := time.NewTimer(killAfter)
	<-timer.C
	killed.Store(true) // before the signal: every transport error from now on is the kill's
	kill()
	wg.Wait()
	var all loadResult
	for _, r := range results {
		all.acked = append(all.acked, r.acked...)
		all.unanswered += r.unanswered
		all.limited += r.limited
		all.unexpected = append(all.unexpected, r.unexpected...)
	}
	return all
}

// backOff pauses a writer that was rate limited (not a wait for a condition).
func backOff(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Millisecond):
	}
}

// readBack GETs every record in ids, spread over the keys, and returns the IDs
// that do not answer 200.
func readBack(t *testing.T, api *apiClient, path string, keys []string, ids []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var missing []string
	next := make(chan string)
	var wg sync.WaitGroup
	for _, key := range keys {
		wg.Go(func() {
			for id := range next {
				for {
					status, body, err := api.do(ctx, http.MethodGet, path+"/"+id, key, nil)
					if err == nil && status == http.StatusTooManyRequests {
						backOff(ctx)
						continue
					}
					if err != nil || status != http.StatusOK {
						mu.Lock()
						missing = append(missing, fmt.Sprintf("%s (%d %v %.200s)", id, status, err, body))
						mu.Unlock()
					}
					break
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	return missing
}
