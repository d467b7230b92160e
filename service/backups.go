package service

import (
	"context"

	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/backup"
)

// BackupCatalog is what operators see of the backups: the listing of the
// backup location and the recorded restore drills (backup.Catalog).
type BackupCatalog interface {
	List(ctx context.Context) ([]backup.Index, error)
	Drills(ctx context.Context) ([]backup.DrillResult, error)
}

// OperatorBackups lists the backups, oldest first, for operators; the read
// is audited in the platform log. configured is false when the server takes
// no backups.
func (s *Service) OperatorBackups(ctx context.Context) (items []backup.Index, configured bool, err error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, false, err
	}
	if s.backups != nil {
		if items, err = s.backups.List(ctx); err != nil {
			return nil, true, err
		}
	}
	if err := s.AuditPlatform(ctx, "backup.list", "backup", "", map[string]int{"backups": len(items)}); err != nil {
		return nil, false, err
	}
	return items, s.backups != nil, nil
}

// OperatorDrills lists the recorded restore drills, oldest first, for
// operators; the read is audited in the platform log.
func (s *Service) OperatorDrills(ctx context.Context) (items []backup.DrillResult, configured bool, err error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, false, err
	}
	if s.backups != nil {
		if items, err = s.backups.Drills(ctx); err != nil {
			return nil, true, err
		}
	}
	if err := s.AuditPlatform(ctx, "backup.drill_list", "backup", "", map[string]int{"drills": len(items)}); err != nil {
		return nil, false, err
	}
	return items, s.backups != nil, nil
}
