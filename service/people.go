package service

import (
	"context"
	"strings"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/store"
)

// People named on a page (who opened a review, acknowledged a notice,
// started a backup) are shown by e-mail address, not by account id.

// DeletedAccount is what a page shows for an account that no longer exists.
const DeletedAccount = "deleted account"

// emails returns the e-mail address of each account among ids (the empty id
// skipped), and DeletedAccount for one that no longer exists. The caller has
// authorized the page naming them: the users table is not tenant-bound.
func (s *Service) emails(ctx context.Context, ids ...strongroom.UserID) (map[strongroom.UserID]string, error) {
	out := make(map[strongroom.UserID]string, len(ids))
	err := s.store.Lookup(ctx, store.Scope{}, func(tx *store.Tx) error {
		for _, id := range ids {
			if _, done := out[id]; done || id == "" {
				continue
			}
			u, err := tx.UserByID(ctx, id)
			switch {
			case strongroom.ErrorCode(err) == strongroom.ENOTFOUND:
				out[id] = DeletedAccount
			case err != nil:
				return err
			default:
				out[id] = u.Email
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Emails returns the e-mail address of each account among ids, for a page
// that names the people who acted on what it shows (who opened a review,
// acknowledged a notice, requested a termination), and DeletedAccount for an
// account that no longer exists. The principal must be signed in, and the
// caller passes only ids read from what the principal was allowed to see.
func (s *Service) Emails(ctx context.Context, ids ...strongroom.UserID) (map[strongroom.UserID]string, error) {
	if err := s.Authorize(ctx, access.Authenticated, access.Resource{}); err != nil {
		return nil, err
	}
	return s.emails(ctx, ids...)
}

// Actor is how a page names the actor a record of an organization keeps (who
// opened a data-subject request, who terminated the organization): the id
// actorID recorded, resolved for people.
type Actor struct {
	// ID is the id as recorded: a user id, "api_key:" and a key id, or a
	// principal kind ("system"). The audit log's actor filter reads it.
	ID string
	// Kind is what the id names: PrincipalUser for a member,
	// PrincipalAPIKey, PrincipalOperator for platform staff who are not a
	// member, PrincipalSystem (or another kind recorded as the id); "" when
	// the actor is no longer known to the organization.
	Kind strongroom.PrincipalKind
	// Name is the member's e-mail address or the API key's name; "" for the
	// other kinds.
	Name string
}

// Gone reports whether the actor is no longer known to the organization: a
// user who is not (or no longer) its member, an API key it no longer has.
func (a Actor) Gone() bool { return a.Kind == "" }

// APIKeyActor is the prefix actorID gives an API key's id.
const APIKeyActor = "api_key:"

// Actors names the actors among ids (as actorID records them) for a page of
// org that shows records keeping them. perm is the permission the page read
// those records under (access.DataSubjectRequests for a request,
// access.OrgTerminate for the termination); the caller holds it in org or is
// an operator. Members and API keys are looked up in org only, so a page
// never names a member of another organization: a user who is not a member
// of org (removed, deleted, or the organization purged) is Gone, or
// PrincipalOperator for an operator account (as the audit log shows
// operators, by id); the empty id is skipped.
func (s *Service) Actors(ctx context.Context, org strongroom.TenantID, perm access.Permission, ids ...string) (map[string]Actor, error) {
	if !strongroom.PrincipalFrom(ctx).Operator {
		if err := s.Authorize(ctx, perm, access.Resource{Tenant: org}); err != nil {
			return nil, err
		}
	} else if !ValidID(string(org)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "organization not found")
	}
	out := make(map[string]Actor, len(ids))
	var users []strongroom.UserID // not members of org: operators or gone
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		for _, id := range ids {
			if _, done := out[id]; done || id == "" {
				continue
			}
			a := Actor{ID: id}
			if key, ok := strings.CutPrefix(id, APIKeyActor); ok {
				k, err := tx.APIKey(ctx, strongroom.APIKeyID(key))
				switch {
				case strongroom.ErrorCode(err) == strongroom.ENOTFOUND:
				case err != nil:
					return err
				default:
					a.Kind, a.Name = strongroom.PrincipalAPIKey, k.Name
				}
				out[id] = a
				continue
			}
			if k := strongroom.PrincipalKind(id); k == strongroom.PrincipalSystem || k == strongroom.PrincipalOperator ||
				k == strongroom.PrincipalAnonymous {
				a.Kind = k
				out[id] = a
				continue
			}
			m, err := tx.Member(ctx, strongroom.UserID(id))
			switch {
			case strongroom.ErrorCode(err) == strongroom.ENOTFOUND:
				users = append(users, strongroom.UserID(id))
			case err != nil:
				return err
			default:
				a.Kind, a.Name = strongroom.PrincipalUser, m.Email
			}
			out[id] = a
		}
		return nil
	})
	if err != nil || len(users) == 0 {
		return out, err
	}
	// Only the account's operator flag is read: never the e-mail address of
	// someone outside org.
	err = s.store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
		for _, id := range users {
			u, err := tx.UserByID(ctx, id)
			switch {
			case strongroom.ErrorCode(err) == strongroom.ENOTFOUND:
			case err != nil:
				return err
			case u.Operator:
				out[string(id)] = Actor{ID: string(id), Kind: strongroom.PrincipalOperator}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
