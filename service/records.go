package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/filter"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

// RecordInput is the body of a record create or replace.
type RecordInput struct {
	Data     json.RawMessage
	ClientID *strongroom.ClientID
}

// ListInput selects a page of records.
type ListInput struct {
	Filter string
	Cursor string
	Limit  int
}

// Page is one page of records; NextCursor is empty on the last page.
type Page struct {
	Items      []strongroom.Record
	NextCursor string
}

// Paging limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// decodeData parses record data into a JSON value (numbers kept as written),
// requires an object, validates it against the collection's schema, and returns
// the canonical encoding that is stored.
func decodeData(c *collection, raw json.RawMessage) (any, []byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil, validation("/data", "is required")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, validation("/data", "must be JSON")
	}
	return validateData(c, v)
}

func validateData(c *collection, v any) (any, []byte, error) {
	if _, ok := v.(map[string]any); !ok {
		return nil, nil, validation("/data", "must be a JSON object")
	}
	if err := c.schema.s.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, nil, fmt.Errorf("validating record: %w", err)
		}
		return nil, nil, schemaErrors(ve)
	}
	b, err := canonicalJSON(v)
	if err != nil {
		return nil, nil, err
	}
	return v, b, nil
}

// schemaErrors turns a schema validation failure into one field error for every
// failing instance location, paths prefixed with /data.
func schemaErrors(ve *jsonschema.ValidationError) error {
	e := strongroom.Errorf(strongroom.EVALIDATION, "the record does not match the collection's schema")
	seen := map[string]bool{}
	var walk func(u jsonschema.OutputUnit)
	walk = func(u jsonschema.OutputUnit) {
		if u.Error != nil && len(u.Errors) == 0 {
			msg := u.Error.String()
			key := u.InstanceLocation + "\x00" + msg
			if !seen[key] && len(e.Fields) < 100 {
				seen[key] = true
				e.Fields = append(e.Fields, strongroom.FieldError{Path: "/data" + u.InstanceLocation, Message: msg})
			}
		}
		for _, c := range u.Errors {
			walk(c)
		}
	}
	walk(*ve.BasicOutput())
	if len(e.Fields) == 0 {
		e.Fields = []strongroom.FieldError{{Path: "/data", Message: "does not match the schema"}}
	}
	return e
}

// canonicalJSON encodes v with sorted keys, numbers as written and no HTML
// escaping, so non-ASCII text and metacharacters are stored verbatim.
func canonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding record: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// term derives the blind-index term of a searchable field's value: an HMAC
// under the tenant's index key, bound to collection and field, so that equal
// values stay findable but the database holds no plaintext of them
// (docs/crypto.md says what this reveals).
func term(keys *keyring.TenantKeys, c strongroom.CollectionID, field string, canonical []byte) []byte {
	return keys.Index.Term([]byte(c), []byte(field), canonical)
}

// terms returns the index terms of a record's searchable fields that hold
// scalar values.
func terms(keys *keyring.TenantKeys, c *collection, v any) []store.Term {
	var out []store.Term
	for _, f := range c.Searchable {
		val, ok := lookup(v, f)
		if !ok {
			continue
		}
		if canon, ok := filter.Canonical(val); ok {
			out = append(out, store.Term{Field: f, Term: term(keys, c.ID, f, canon)})
		}
	}
	return out
}

func lookup(v any, path string) (any, bool) {
	for _, seg := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return v, true
}

// checkClient verifies that the principal may put a record under client.
func (s *Service) checkClient(ctx context.Context, org strongroom.TenantID, client *strongroom.ClientID) error {
	if client == nil {
		return nil
	}
	if !ValidID(string(*client)) {
		return validation("/client_id", "must be a client ID")
	}
	if !strongroom.PrincipalFrom(ctx).Visibility().Allows(client) {
		return validation("/client_id", "no such client")
	}
	return nil
}

func clientFKError(err error) error {
	if errors.Is(err, store.ErrUnknownClient) {
		return validation("/client_id", "no such client")
	}
	return err
}

// CreateRecord validates and stores a record.
func (s *Service) CreateRecord(ctx context.Context, org strongroom.TenantID, coll string, in RecordInput) (*strongroom.Record, error) {
	if err := s.Authorize(ctx, access.RecordsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	c, err := s.collection(ctx, org, coll)
	if err != nil {
		return nil, err
	}
	if err := s.checkClient(ctx, org, in.ClientID); err != nil {
		return nil, err
	}
	v, data, err := decodeData(c, in.Data)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	r := &strongroom.Record{CollectionID: c.ID, ID: strongroom.RecordID(id), ClientID: in.ClientID,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	sealed := *r
	if err := s.seal(keys, &sealed, data); err != nil {
		return nil, err
	}
	ts := terms(keys, c, v)
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.CreateRecord(ctx, &sealed, ts); err != nil {
			return clientFKError(err)
		}
		return audit(ctx, tx, "record.create", "record", id, map[string]string{"collection": coll})
	})
	if err != nil {
		return nil, err
	}
	r.TenantID, r.Data = org, data
	return r, nil
}

// recordAD binds a record's sealed payload to its tenant, table, row and field:
// a ciphertext copied to another record or tenant does not open.
func recordAD(t strongroom.TenantID, c strongroom.CollectionID, id strongroom.RecordID) envelope.AD {
	return envelope.AD{Tenant: string(t), Table: "records", Row: string(c) + "/" + string(id), Field: "data"}
}

// seal puts data, sealed with the tenant's current key, into r.
func (s *Service) seal(keys *keyring.TenantKeys, r *strongroom.Record, data []byte) error {
	env, err := envelope.Seal(keys.Current, recordAD(keys.Tenant, r.CollectionID, r.ID), data, s.rand)
	if err != nil {
		return fmt.Errorf("sealing record: %w", err)
	}
	r.Data, r.KeyID = env, keys.Current.ID()
	return nil
}

// open replaces a stored record's sealed payload with its plaintext. A record
// that does not open is an error, never empty data.
func (s *Service) open(keys *keyring.TenantKeys, r *strongroom.Record) error {
	id, err := envelope.KeyID(r.Data)
	if err != nil {
		return fmt.Errorf("record %s: %w", r.ID, err)
	}
	k, ok := keys.Key(id)
	if !ok {
		return fmt.Errorf("record %s is sealed with key %d, which the keyring does not hold", r.ID, id)
	}
	p, err := envelope.Open(k, recordAD(keys.Tenant, r.CollectionID, r.ID), r.Data)
	if err != nil {
		return fmt.Errorf("opening record %s: %w", r.ID, err)
	}
	r.Data = p
	return nil
}

// Record returns one record the principal may see.
func (s *Service) Record(ctx context.Context, org strongroom.TenantID, coll string, id strongroom.RecordID) (*strongroom.Record, error) {
	if err := s.Authorize(ctx, access.RecordsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	c, err := s.collection(ctx, org, coll)
	if err != nil {
		return nil, err
	}
	if !ValidID(string(id)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "record not found")
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, err
	}
	vis := strongroom.PrincipalFrom(ctx).Visibility()
	var r *strongroom.Record
	err = s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		r, err = tx.Record(ctx, c.ID, id, vis)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.open(keys, r); err != nil {
		return nil, err
	}
	if err := s.auditRead(ctx, org, "record.read", "record", string(r.ID), map[string]any{"collection": c.Name}); err != nil {
		return nil, err
	}
	return r, nil
}

// auditRead records who read what, when and from where, durably before the
// answer (security invariant 4): one event per request, appended through
// group commit like any other write. A list names the records it returned
// and the fields it was filtered on, never the filter's values (they may be
// personal data).
func (s *Service) auditRead(ctx context.Context, org strongroom.TenantID, action, targetType, targetID string, meta map[string]any) error {
	if s.unauditedReads {
		return nil
	}
	return s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		return audit(ctx, tx, action, targetType, targetID, meta)
	})
}

// ParseIfMatch reads an If-Match header: "" and "*" (no precondition beyond the
// record existing) give 0, a quoted or bare version number gives it, a weak ETag
// never matches (RFC 9110 compares If-Match strongly): EPRECONDITION; anything
// else is EINVALID.
func ParseIfMatch(h string) (int64, error) {
	v := strings.TrimSpace(h)
	if v == "" || v == "*" {
		return 0, nil
	}
	if strings.HasPrefix(v, "W/") {
		return 0, strongroom.Errorf(strongroom.EPRECONDITION, "a weak ETag never matches If-Match")
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1] // one pair of quotes: the ETag form
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, strongroom.Errorf(strongroom.EINVALID, "If-Match must be the record's ETag, such as \"3\"")
	}
	return n, nil
}

// updateRecord is the shared read-check-write of replace, patch and delete: it
// loads the visible record, checks the If-Match version (0: none), and calls
// change, all in one transaction.
func (s *Service) updateRecord(ctx context.Context, org strongroom.TenantID, coll string, id strongroom.RecordID, ifMatch int64,
	change func(tx *store.Tx, c *collection, keys *keyring.TenantKeys, r *strongroom.Record) error) error {
	if err := s.Authorize(ctx, access.RecordsWrite, access.Resource{Tenant: org}); err != nil {
		return err
	}
	c, err := s.collection(ctx, org, coll)
	if err != nil {
		return err
	}
	if !ValidID(string(id)) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "record not found")
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return err
	}
	vis := strongroom.PrincipalFrom(ctx).Visibility()
	return s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		r, err := tx.Record(ctx, c.ID, id, vis)
		if err != nil {
			return err
		}
		if ifMatch != 0 && ifMatch != r.Version {
			return strongroom.Errorf(strongroom.EPRECONDITION, "the record is at version %d, not %d", r.Version, ifMatch)
		}
		return change(tx, c, keys, r)
	})
}

// ReplaceRecord replaces a record's data and client.
func (s *Service) ReplaceRecord(ctx context.Context, org strongroom.TenantID, coll string, id strongroom.RecordID, ifMatch int64, in RecordInput) (*strongroom.Record, error) {
	if err := s.checkClient(ctx, org, in.ClientID); err != nil {
		return nil, err
	}
	var out *strongroom.Record
	err := s.updateRecord(ctx, org, coll, id, ifMatch, func(tx *store.Tx, c *collection, keys *keyring.TenantKeys, r *strongroom.Record) error {
		v, data, err := decodeData(c, in.Data)
		if err != nil {
			return err
		}
		return s.saveRecord(ctx, tx, c, keys, r, v, data, in.ClientID, "record.replace", &out)
	})
	return out, err
}

// PatchRecord applies a JSON merge patch (RFC 7386) to a record's data.
func (s *Service) PatchRecord(ctx context.Context, org strongroom.TenantID, coll string, id strongroom.RecordID, ifMatch int64, patch json.RawMessage) (*strongroom.Record, error) {
	pv, err := jsonschema.UnmarshalJSON(bytes.NewReader(patch))
	if err != nil {
		return nil, strongroom.Errorf(strongroom.EINVALID, "the patch must be JSON")
	}
	if _, ok := pv.(map[string]any); !ok {
		return nil, validation("", "the merge patch of a record's data must be a JSON object")
	}
	var out *strongroom.Record
	err = s.updateRecord(ctx, org, coll, id, ifMatch, func(tx *store.Tx, c *collection, keys *keyring.TenantKeys, r *strongroom.Record) error {
		if err := s.open(keys, r); err != nil {
			return err
		}
		cur, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Data))
		if err != nil {
			return fmt.Errorf("decoding stored record: %w", err)
		}
		v, data, err := validateData(c, mergePatch(cur, pv))
		if err != nil {
			return err
		}
		return s.saveRecord(ctx, tx, c, keys, r, v, data, r.ClientID, "record.patch", &out)
	})
	return out, err
}

func (s *Service) saveRecord(ctx context.Context, tx *store.Tx, c *collection, keys *keyring.TenantKeys, r *strongroom.Record, v any, data []byte,
	client *strongroom.ClientID, action string, out **strongroom.Record) error {
	next := *r
	next.ClientID, next.Version, next.UpdatedAt = client, r.Version+1, s.clock()
	if err := s.seal(keys, &next, data); err != nil {
		return err
	}
	if err := tx.UpdateRecord(ctx, &next, terms(keys, c, v)); err != nil {
		return clientFKError(err)
	}
	plain := next
	plain.Data = data
	*out = &plain
	return audit(ctx, tx, action, "record", string(r.ID), map[string]any{"collection": c.Name, "version": next.Version})
}

// mergePatch applies an RFC 7386 merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, pv := range p {
		if pv == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], pv)
	}
	return t
}

// DeleteRecord deletes a record.
func (s *Service) DeleteRecord(ctx context.Context, org strongroom.TenantID, coll string, id strongroom.RecordID, ifMatch int64) error {
	return s.updateRecord(ctx, org, coll, id, ifMatch, func(tx *store.Tx, c *collection, _ *keyring.TenantKeys, r *strongroom.Record) error {
		if err := tx.DeleteRecord(ctx, c.ID, r.ID, r.Version); err != nil {
			return err
		}
		return audit(ctx, tx, "record.delete", "record", string(r.ID), map[string]string{"collection": c.Name})
	})
}

// Records lists records the principal may see, filtered and paged.
func (s *Service) Records(ctx context.Context, org strongroom.TenantID, coll string, in ListInput) (*Page, error) {
	if err := s.Authorize(ctx, access.RecordsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	c, err := s.collection(ctx, org, coll)
	if err != nil {
		return nil, err
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, err
	}
	q := store.RecordQuery{Collection: c.ID, Visibility: strongroom.PrincipalFrom(ctx).Visibility(), Limit: in.Limit}
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return nil, strongroom.Errorf(strongroom.EINVALID, "limit must be between 1 and %d", MaxPageSize)
	}
	if in.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.Cursor)
		if err != nil || !ValidID(string(b)) {
			return nil, strongroom.Errorf(strongroom.EINVALID, "cursor is not valid")
		}
		q.After = strongroom.RecordID(b)
	}
	if in.Filter != "" {
		expr, err := filter.Parse(in.Filter)
		if err != nil {
			var se *filter.SyntaxError
			if errors.As(err, &se) {
				return nil, strongroom.Errorf(strongroom.EINVALID, "%s", se.Error())
			}
			return nil, strongroom.Errorf(strongroom.EINVALID, "filter is not valid")
		}
		for _, cond := range expr.Conds {
			if !searchable(c, cond.Field) {
				return nil, strongroom.Errorf(strongroom.EINVALID, "filter: field %q is not searchable in this collection", cond.Field)
			}
			q.Terms = append(q.Terms, store.Term{Field: cond.Field, Term: term(keys, c.ID, cond.Field, cond.Value)})
		}
	}
	want := q.Limit
	q.Limit++
	var items []strongroom.Record
	err = s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		items, err = tx.Records(ctx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range items {
		if err := s.open(keys, &items[i]); err != nil {
			return nil, err
		}
	}
	page := &Page{Items: items}
	if len(items) > want {
		page.Items = items[:want]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(items[want-1].ID))
	}
	ids := make([]strongroom.RecordID, len(page.Items))
	for i := range page.Items {
		ids[i] = page.Items[i].ID
	}
	fields := make([]string, 0, len(q.Terms))
	for _, t := range q.Terms {
		fields = append(fields, t.Field)
	}
	err = s.auditRead(ctx, org, "record.list", "collection", string(c.ID),
		map[string]any{"collection": c.Name, "records": ids, "filter_fields": fields})
	if err != nil {
		return nil, err
	}
	return page, nil
}

func searchable(c *collection, field string) bool {
	for _, f := range c.Searchable {
		if f == field {
			return true
		}
	}
	return false
}
