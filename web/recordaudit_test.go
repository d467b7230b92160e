package web_test

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/store"
)

// TestRecordPageOneAuditEvent: one view of a record page (the record and
// its files) appends exactly one event, record.read, naming the record and
// counting the files listed; the API's explicit file list stays its own
// file.list event.
func TestRecordPageOneAuditEvent(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			srv := testkit.NewServer(t, e.Open(t), httpapi.Options{})
			acct := srv.Signup(t, "rhea@example.com", "Rhea Org")
			ids := seedRecords(t, srv, acct, 1)
			api := "/api/v1/orgs/" + acct.OrgID + "/collections/people/records/" + ids[0]
			for _, name := range []string{"a.txt", "b.txt"} {
				testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "POST", Path: api + "/files", Token: acct.Token, Body: []byte("hello"),
					ContentType: "application/octet-stream",
					Header:      map[string]string{"Content-Disposition": mime.FormatMediaType("attachment", map[string]string{"filename": name})}}),
					http.StatusCreated)
			}
			org := strongroom.TenantID(acct.OrgID)
			_, head := actionsAfter(t, srv.Store, org, 0)
			status, body := page(t, srv, acct.Token, "/orgs/"+acct.OrgID+"/collections/people/records/"+ids[0])
			if status != http.StatusOK {
				t.Fatalf("record page: %d %.300s", status, body)
			}
			evs := eventsAfter(t, srv.Store, org, head)
			if len(evs) != 1 || evs[0].Action != "record.read" || evs[0].TargetID != ids[0] || evs[0].ActorID != acct.UserID {
				t.Fatalf("one page view appended %+v, want one record.read", evs)
			}
			var meta struct {
				Collection string `json:"collection"`
				Files      *int   `json:"files"`
			}
			if err := json.Unmarshal(evs[0].Metadata, &meta); err != nil || meta.Collection != "people" || meta.Files == nil || *meta.Files != 2 {
				t.Errorf("record.read metadata %s (%v), want the collection and 2 files", evs[0].Metadata, err)
			}
			head = evs[0].Seq
			testkit.MustStatus(t, srv.Do(t, testkit.Request{Method: "GET", Path: api + "/files", Token: acct.Token}), http.StatusOK)
			if evs := eventsAfter(t, srv.Store, org, head); len(evs) != 1 || evs[0].Action != "file.list" {
				t.Errorf("the API's file list appended %+v, want one file.list", evs)
			}
		})
	}
}

// eventsAfter returns the events appended to tenant's log after seq.
func eventsAfter(t *testing.T, st *store.Store, tenant strongroom.TenantID, after int64) []strongroom.AuditEvent {
	t.Helper()
	ctx := context.Background()
	var out []strongroom.AuditEvent
	err := st.Read(ctx, store.TenantScope(tenant), func(tx *store.Tx) error {
		evs, err := tx.AuditEvents(ctx, after, 1000)
		out = evs
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
