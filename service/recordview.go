package service

import (
	"context"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/store"
)

// RecordWithFiles returns a record and its files' metadata, for a page that
// shows both (the console's record page): one read, audited as one
// record.read event whose metadata counts the files listed ("files"; absent
// when files are not configured), rather than a record.read and a file.list
// per page view. Every access stays audited: the event says the record and
// the list of its files were read; each file's content read is its own
// file.read event, and the API's explicit file list its own file.list.
func (s *Service) RecordWithFiles(ctx context.Context, org strongroom.TenantID, coll string, id strongroom.RecordID) (*strongroom.Record, []strongroom.File, error) {
	if err := s.Authorize(ctx, access.RecordsRead, access.Resource{Tenant: org}); err != nil {
		return nil, nil, err
	}
	c, err := s.collection(ctx, org, coll)
	if err != nil {
		return nil, nil, err
	}
	if !ValidID(string(id)) {
		return nil, nil, strongroom.Errorf(strongroom.ENOTFOUND, "record not found")
	}
	keys, err := s.keys.Keys(ctx, org)
	if err != nil {
		return nil, nil, err
	}
	vis := strongroom.PrincipalFrom(ctx).Visibility()
	withFiles := s.files.Blobs != nil
	var r *strongroom.Record
	var files []strongroom.File
	err = s.store.Lookup(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		var err error
		if r, err = tx.Record(ctx, c.ID, id, vis); err != nil {
			return err
		}
		if withFiles {
			files, err = tx.Files(ctx, c.ID, r.ID)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if err := s.open(keys, r); err != nil {
		return nil, nil, err
	}
	meta := map[string]any{"collection": c.Name}
	if withFiles {
		meta["files"] = len(files)
	}
	if err := s.auditRead(ctx, org, "record.read", "record", string(r.ID), meta); err != nil {
		return nil, nil, err
	}
	return r, files, nil
}
