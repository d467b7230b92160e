package service

import (
	"context"
	"slices"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/store"
)

// maxEvidenceList bounds the backups and drills listed for operators: the
// newest ones (a daily backup and a weekly drill make some years of history).
const maxEvidenceList = 1000

// OperatorBackups lists the recorded backups (the platform table backups:
// the schedule's and the backup command's, failed ones included), oldest
// first of the newest 1000, for operators; the read is audited in the
// platform log. location is the configured backup location, "" when the
// server takes no backups (backups taken by the command are listed anyway).
func (s *Service) OperatorBackups(ctx context.Context) (items []store.BackupRecord, location string, err error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, "", err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if items, err = tx.Backups(ctx, maxEvidenceList); err != nil {
			return err
		}
		return audit(ctx, tx, "backup.list", "backup", "", map[string]int{"backups": len(items)})
	})
	if err != nil {
		return nil, "", err
	}
	slices.Reverse(items)
	return items, s.backupLocation, nil
}

// OperatorDrills lists the recorded restore drills (the platform table
// backup_drills), oldest first of the newest 1000, for operators; the read is
// audited in the platform log. location is as for OperatorBackups.
func (s *Service) OperatorDrills(ctx context.Context) (items []store.DrillRecord, location string, err error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, "", err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		var err error
		if items, err = tx.Drills(ctx, maxEvidenceList); err != nil {
			return err
		}
		return audit(ctx, tx, "backup.drill_list", "backup", "", map[string]int{"drills": len(items)})
	})
	if err != nil {
		return nil, "", err
	}
	slices.Reverse(items)
	return items, s.backupLocation, nil
}
