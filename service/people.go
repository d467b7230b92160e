package service

import (
	"context"

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
