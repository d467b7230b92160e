package service

import (
	"context"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/store"
)

// PendingNotices counts the organization's breach notices that no Admin has
// acknowledged yet, for the console's banner on every organization page
// (Admins only; another organization's answers 404). The count reveals no
// notice's content, so, like a navigation badge, it is not audited; reading
// the notices themselves is (Notices, "notice.list").
func (s *Service) PendingNotices(ctx context.Context, org strongroom.TenantID) (int, error) {
	if err := s.Authorize(ctx, access.NoticesRead, access.Resource{Tenant: org}); err != nil {
		return 0, err
	}
	n := 0
	err := s.store.Read(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		list, err := tx.Notices(ctx)
		for _, x := range list {
			if x.Kind == "breach" && x.AcknowledgedAt == nil {
				n++
			}
		}
		return err
	})
	return n, err
}
