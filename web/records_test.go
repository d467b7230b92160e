package web_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"strongroom.dev/strongroom/internal/testkit"
)

// peopleSchema is the schema of the collection the console's record tests
// use: every kind of input the record form generates.
const peopleSchema = `{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 2, "title": "Full name"},
    "email": {"type": "string", "format": "email"},
    "age": {"type": "integer", "minimum": 0},
    "plan": {"enum": ["free", "pro"]},
    "active": {"type": "boolean"},
    "address": {"type": "object", "properties": {"city": {"type": "string"}}}
  },
  "required": ["name"]
}`

// seedRecords creates the collection "people" (searchable email and plan)
// through the API with n records, and returns their ids.
func seedRecords(t *testing.T, srv *testkit.Server, acct testkit.Account, n int) []string {
	t.Helper()
	base := "/api/v1/orgs/" + acct.OrgID + "/collections"
	r := srv.Do(t, testkit.Request{Method: "POST", Path: base, Token: acct.Token,
		Body: map[string]any{"name": "people", "schema": json.RawMessage(peopleSchema), "searchable": []string{"email", "plan"}}})
	if r.Status != 201 {
		t.Fatalf("creating the collection: %d %s", r.Status, r.Body)
	}
	var ids []string
	for i := range n {
		plan := "free"
		if i%2 == 1 {
			plan = "pro"
		}
		r := srv.Do(t, testkit.Request{Method: "POST", Path: base + "/people/records", Token: acct.Token,
			Body: map[string]any{"data": map[string]any{"name": fmt.Sprintf("Person %02d", i), "email": fmt.Sprintf("p%02d@example.com", i), "plan": plan}}})
		if r.Status != 201 {
			t.Fatalf("creating a record: %d %s", r.Status, r.Body)
		}
		var rec struct{ ID string }
		if err := json.Unmarshal(r.Body, &rec); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	return ids
}
