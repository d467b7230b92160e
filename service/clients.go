package service

import (
	"context"
	"strconv"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/store"
)

func itoa(i int) string { return strconv.Itoa(i) }

// Clients lists the clients the principal may see.
func (s *Service) Clients(ctx context.Context, org strongroom.TenantID) ([]strongroom.Client, error) {
	if err := s.Authorize(ctx, access.ClientsRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	vis := strongroom.PrincipalFrom(ctx).Visibility()
	var out []strongroom.Client
	err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		out, err = tx.Clients(ctx, vis)
		return err
	})
	return out, err
}

// Client returns one client, if the principal may see it.
func (s *Service) Client(ctx context.Context, org strongroom.TenantID, id strongroom.ClientID) (*strongroom.Client, error) {
	if err := s.Authorize(ctx, access.ClientsRead, access.Resource{Tenant: org, Client: &id}); err != nil {
		return nil, err
	}
	if !ValidID(string(id)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "client not found")
	}
	var c *strongroom.Client
	err := s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		c, err = tx.Client(ctx, id)
		return err
	})
	return c, err
}

// CreateClient adds a client.
func (s *Service) CreateClient(ctx context.Context, org strongroom.TenantID, name string) (*strongroom.Client, error) {
	if err := s.Authorize(ctx, access.ClientsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	name, err := validName("/name", name, 200)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	c := &strongroom.Client{ID: strongroom.ClientID(id), Name: name, CreatedAt: s.clock()}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.CreateClient(ctx, c); err != nil {
			return err
		}
		return audit(ctx, tx, "client.create", "client", id, nil)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RenameClient changes a client's name.
func (s *Service) RenameClient(ctx context.Context, org strongroom.TenantID, id strongroom.ClientID, name string) (*strongroom.Client, error) {
	if err := s.Authorize(ctx, access.ClientsWrite, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if !ValidID(string(id)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "client not found")
	}
	name, err := validName("/name", name, 200)
	if err != nil {
		return nil, err
	}
	var c *strongroom.Client
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.RenameClient(ctx, id, name); err != nil {
			return err
		}
		if c, err = tx.Client(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "client.update", "client", string(id), nil)
	})
	return c, err
}

// DeleteClient removes a client that owns no records and to which no member
// is limited. (Deleting the assignments with the client would leave a member
// limited to that client alone with no limit at all: every client's records.)
func (s *Service) DeleteClient(ctx context.Context, org strongroom.TenantID, id strongroom.ClientID) error {
	if err := s.Authorize(ctx, access.ClientsWrite, access.Resource{Tenant: org}); err != nil {
		return err
	}
	if !ValidID(string(id)) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "client not found")
	}
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if _, err := tx.Client(ctx, id); err != nil {
			return err
		}
		n, err := tx.ClientAssignees(ctx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return strongroom.Errorf(strongroom.ECONFLICT, "%d members are limited to this client; change their clients first", n)
		}
		if err := tx.DeleteClient(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, "client.delete", "client", string(id), nil)
	})
	return err
}
