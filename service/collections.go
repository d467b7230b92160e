package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/store"
)

type collKey struct {
	tenant strongroom.TenantID
	name   string
}

// collection is a stored collection with its compiled schema.
type collection struct {
	strongroom.Collection
	schema *compiledSchema
}

type compiledSchema struct{ s *jsonschema.Schema }

// Limits on collection definitions.
const (
	maxSearchable = 32
	maxSchemaSize = 256 << 10
)

var collectionName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// fieldPath is the grammar of searchable fields: the same dotted identifiers the
// filter language accepts.
var fieldPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,7}$`)

// noLoader refuses every external $ref: a schema may refer only to itself, never
// to a file on the server or a URL.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, errors.New("external references are not allowed")
}

// compileSchema compiles a JSON Schema document (draft 2020-12 unless it says
// otherwise). Its errors are safe to show: they describe the document.
func compileSchema(doc []byte) (*compiledSchema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, validation("/schema", "must be a JSON document")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, validation("/schema", "must be a JSON Schema object")
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	const url = "strongroom:collection-schema.json"
	if err := c.AddResource(url, v); err != nil {
		return nil, validation("/schema", "is not a valid JSON Schema")
	}
	sch, err := c.Compile(url)
	if err != nil {
		msg := err.Error()
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, validation("/schema", "is not a valid JSON Schema: %s", strings.ReplaceAll(msg, url, "schema"))
	}
	return &compiledSchema{s: sch}, nil
}

// CollectionInput defines a collection.
type CollectionInput struct {
	Name       string
	Schema     []byte
	Searchable []string
}

// CreateCollection defines a collection.
func (s *Service) CreateCollection(ctx context.Context, org strongroom.TenantID, in CollectionInput) (*strongroom.Collection, error) {
	if err := s.Authorize(ctx, access.CollectionsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !collectionName.MatchString(in.Name) {
		return nil, validation("/name", "must be 1 to 63 lower-case letters, digits or _, starting with a letter")
	}
	if len(in.Schema) == 0 {
		return nil, validation("/schema", "is required")
	}
	if len(in.Schema) > maxSchemaSize {
		return nil, validation("/schema", "must be at most %d bytes", maxSchemaSize)
	}
	if _, err := compileSchema(in.Schema); err != nil {
		return nil, err
	}
	if len(in.Searchable) > maxSearchable {
		return nil, validation("/searchable", "at most %d fields", maxSearchable)
	}
	seen := map[string]bool{}
	for i, f := range in.Searchable {
		if !fieldPath.MatchString(f) {
			return nil, validation(fmt.Sprintf("/searchable/%d", i), "must be a field path such as email or address.city")
		}
		if seen[f] {
			return nil, validation(fmt.Sprintf("/searchable/%d", i), "is listed twice")
		}
		seen[f] = true
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	c := &strongroom.Collection{ID: strongroom.CollectionID(id), Name: in.Name, Schema: in.Schema,
		Searchable: append([]string{}, in.Searchable...), CreatedAt: s.clock()}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		return audit(ctx, tx, "collection.create", "collection", id, map[string]string{"name": in.Name})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Collections lists an organization's collections.
func (s *Service) Collections(ctx context.Context, org strongroom.TenantID) ([]strongroom.Collection, error) {
	if err := s.Authorize(ctx, access.CollectionsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	var out []strongroom.Collection
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		out, err = tx.Collections(ctx)
		return err
	})
	return out, err
}

// Collection returns one collection.
func (s *Service) Collection(ctx context.Context, org strongroom.TenantID, name string) (*strongroom.Collection, error) {
	if err := s.Authorize(ctx, access.CollectionsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	c, err := s.collection(ctx, org, name)
	if err != nil {
		return nil, err
	}
	return &c.Collection, nil
}

// collection looks a collection up by name (cached) with its compiled schema.
func (s *Service) collection(ctx context.Context, org strongroom.TenantID, name string) (*collection, error) {
	if !collectionName.MatchString(name) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "collection not found")
	}
	key := collKey{org, name}
	if c, ok := s.colls.get(key); ok {
		return c, nil
	}
	var sc *strongroom.Collection
	err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		sc, err = tx.CollectionByName(ctx, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	cs, ok := s.schemas.get(sc.ID)
	if !ok {
		if cs, err = compileSchema(sc.Schema); err != nil {
			return nil, fmt.Errorf("compiling stored schema of collection %s: %w", sc.ID, err)
		}
		s.schemas.put(sc.ID, cs)
	}
	c := &collection{Collection: *sc, schema: cs}
	s.colls.put(key, c)
	return c, nil
}

// DeleteCollection removes a collection and all of its records.
func (s *Service) DeleteCollection(ctx context.Context, org strongroom.TenantID, name string) error {
	if err := s.Authorize(ctx, access.CollectionsWrite, access.Resource{Tenant: org}); err != nil {
		return err
	}
	c, err := s.collection(ctx, org, name)
	if err != nil {
		return err
	}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		n, err := tx.CountRecords(ctx, c.ID)
		if err != nil {
			return err
		}
		if err := tx.DeleteCollection(ctx, c.ID); err != nil {
			return err
		}
		return audit(ctx, tx, "collection.delete", "collection", string(c.ID), map[string]any{"name": name, "records": n})
	})
	s.colls.del(collKey{org, name})
	s.schemas.del(c.ID)
	return err
}
