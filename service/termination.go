package service

import (
	"cmp"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/retention"
	"strongroom.dev/strongroom/store"
)

// Termination (LIF-03; docs/lifecycle.md): an Admin (with a recent sign-in)
// or an operator terminates an organization; access ends at once except for
// its Admins' export and the termination itself; after the return window the
// purge job deletes its data, destroys its keys and keeps a signed deletion
// certificate.

// activeTermination returns the organization's termination while it is in
// its return window, else nil.
func (s *Service) activeTermination(ctx context.Context, org strongroom.TenantID) (*store.Termination, error) {
	gen := s.terminations.generation()
	t, ok := s.terminations.get(org)
	if !ok {
		var err error
		if t, err = s.store.TerminationOf(ctx, org); err != nil {
			return nil, err
		}
		s.terminations.putAt(org, t, gen)
	}
	if !t.Active() {
		return nil, nil
	}
	return t, nil
}

// TerminationInput confirms a termination.
type TerminationInput struct {
	// Confirm must be the organization's name, exactly.
	Confirm string
}

// TerminationStatus is a termination as its Admins and operators see it.
type TerminationStatus struct {
	Tenant      strongroom.TenantID
	Name        string
	RequestedBy string
	RequestedAt time.Time
	PurgeAfter  time.Time
	CancelledAt *time.Time
	PurgedAt    *time.Time
	// None: the organization was never terminated.
	None bool
	// Token fetches the deletion certificate once it is issued
	// (GET /api/v1/deletion-certificates/{token}); shown once, when the
	// organization is terminated.
	Token string
}

func toTerminationStatus(t *store.Termination) *TerminationStatus {
	return &TerminationStatus{Tenant: t.Tenant, Name: t.Name, RequestedBy: t.RequestedBy, RequestedAt: t.RequestedAt,
		PurgeAfter: t.PurgeAfter, CancelledAt: t.CancelledAt, PurgedAt: t.PurgedAt}
}

// TerminateOrg terminates an organization: its Admin with a recent sign-in
// (confirming the organization's name), or an operator. Access ends on the
// next request; its Admins can still export it and cancel until the window
// ends. Audited in the organization's log (and the platform log for an
// operator).
func (s *Service) TerminateOrg(ctx context.Context, org strongroom.TenantID, in TerminationInput) (*TerminationStatus, error) {
	p := strongroom.PrincipalFrom(ctx)
	if !p.Operator {
		if err := s.Authorize(ctx, access.OrgTerminate, access.Resource{Tenant: org}); err != nil {
			return nil, err
		}
		if err := s.requireStepUp(ctx); err != nil {
			return nil, err
		}
	} else if !ValidID(string(org)) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "organization not found")
	}
	token, hash, err := authn.NewToken(s.rand, "srd_")
	if err != nil {
		return nil, err
	}
	now := s.clock()
	t := &store.Termination{RequestedBy: actorID(ctx), RequestedAt: now, PurgeAfter: now.Add(s.lifecycle.TerminationWindow)}
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		o, err := tx.Organization(ctx)
		if err != nil {
			return err
		}
		if in.Confirm != o.Name {
			return validation("/confirm", "must be the organization's name, exactly")
		}
		t.Name = o.Name
		if err := tx.Terminate(ctx, t, hash); err != nil {
			return err
		}
		return audit(ctx, tx, "org.terminate", "organization", string(org), map[string]any{"purge_after": t.PurgeAfter,
			"by_operator": p.Operator})
	})
	s.terminations.del(org)
	if err != nil {
		return nil, err
	}
	if p.Operator {
		if err := s.AuditPlatform(ctx, "org.terminate", "organization", string(org), map[string]any{"purge_after": t.PurgeAfter}); err != nil {
			return nil, err
		}
	}
	st := toTerminationStatus(t)
	st.Token = token
	return st, nil
}

// Termination returns an organization's termination (its Admins, also during
// the window); None when it was never terminated.
func (s *Service) Termination(ctx context.Context, org strongroom.TenantID) (*TerminationStatus, error) {
	if p := strongroom.PrincipalFrom(ctx); !p.Operator {
		if err := s.Authorize(ctx, access.OrgTerminate, access.Resource{Tenant: org}); err != nil {
			return nil, err
		}
	}
	t, err := s.store.TerminationOf(ctx, org)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return &TerminationStatus{Tenant: org, None: true}, nil
	}
	return toTerminationStatus(t), nil
}

// CancelTermination restores access within the return window (the Admin
// with a recent sign-in, or an operator).
func (s *Service) CancelTermination(ctx context.Context, org strongroom.TenantID) error {
	p := strongroom.PrincipalFrom(ctx)
	if !p.Operator {
		if err := s.Authorize(ctx, access.OrgTerminate, access.Resource{Tenant: org}); err != nil {
			return err
		}
		if err := s.requireStepUp(ctx); err != nil {
			return err
		}
	}
	err := s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		if err := tx.CancelTermination(ctx, s.clock()); err != nil {
			if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
				return strongroom.Errorf(strongroom.ENOTFOUND, "the organization is not terminated")
			}
			return err
		}
		return audit(ctx, tx, "org.termination.cancel", "organization", string(org), map[string]any{"by_operator": p.Operator})
	})
	s.terminations.del(org)
	return err
}

// TerminationLease makes one purge job run at a time across replicas.
const TerminationLease = "termination-purger"

// PurgeReport says what a purge run did.
type PurgeReport struct {
	Ran    bool
	Purged []strongroom.TenantID
}

// PurgeBatching tunes how a termination purge deletes an organization's rows.
type PurgeBatching struct {
	// Size is how many rows one transaction deletes (default 1000).
	Size int
	// AfterBatch, when set, runs after each committed batch; an error stops
	// the purge there (tests use it to interrupt one).
	AfterBatch func() error
}

// SetPurgeBatching replaces the purge's batching (tests).
func (s *Service) SetPurgeBatching(b PurgeBatching) { s.purgeBatching.Store(&b) }

// PurgeTerminated deletes the data of every organization whose return window
// has ended, destroys its keys and stores its signed deletion certificate, as
// the holder of TerminationLease. The keys are destroyed first (from then on
// every copy of the data, backups included, is unreadable: LIF-04) and the
// destruction is audited in the platform log at once ("org.keys_destroyed");
// then the organization's rows go in bounded batches, one transaction each,
// so the SQLite writer is never held for long, each batch saving its counts
// with the termination; the last transaction deletes the organization and
// stores the certificate, whose counts include every batch. A purge that
// stops anywhere (crash, lost lease) resumes at the next run where it stopped:
// the rows left are unreadable meanwhile, their keys being gone. Its
// certificate then lists no keys, and the earlier event names them. The
// purge is audited in the platform log with the certificate.
func (s *Service) PurgeTerminated(ctx context.Context, holder string, ttl time.Duration) (PurgeReport, error) {
	var rep PurgeReport
	if holder == "" {
		return rep, errors.New("termination purge: a holder is required")
	}
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	ok, err := s.store.AcquireLease(ctx, TerminationLease, holder, s.now(), ttl)
	if err != nil || !ok {
		return rep, err
	}
	rep.Ran = true
	ctx = strongroom.WithPrincipal(ctx, &strongroom.Principal{Kind: strongroom.PrincipalSystem, RequestID: "termination"})
	due, err := s.store.DueTerminations(ctx, s.clock())
	if err != nil {
		return rep, err
	}
	signer, err := s.keys.SigningKey(ctx)
	if err != nil {
		return rep, err
	}
	for _, t := range due {
		if err := s.purge(ctx, t, signer, holder, ttl); err != nil {
			return rep, fmt.Errorf("purging %s: %w", t.Tenant, err)
		}
		rep.Purged = append(rep.Purged, t.Tenant)
	}
	return rep, s.store.ReleaseLease(ctx, TerminationLease, holder)
}

func (s *Service) purge(ctx context.Context, t store.Termination, signer crypto.Signer, holder string, ttl time.Duration) error {
	now := s.clock()
	// The keys are destroyed first: from then on every copy of the data,
	// backups included, is unreadable, whatever happens next (LIF-04).
	gone, err := s.keys.Destroy(ctx, t.Tenant)
	if err != nil {
		return fmt.Errorf("destroying keys: %w", err)
	}
	keys := make([]retention.DestroyedKey, 0, len(gone))
	for _, k := range gone {
		keys = append(keys, retention.DestroyedKey{Kind: string(k.Kind), Version: k.Version, KEKID: k.KEKID,
			CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339Nano)})
	}
	if len(gone) > 0 {
		if err := s.AuditPlatform(ctx, "org.keys_destroyed", "organization", string(t.Tenant), map[string]any{"keys": keys}); err != nil {
			return err
		}
	}
	batching := PurgeBatching{Size: 1000}
	if b := s.purgeBatching.Load(); b != nil {
		batching = *b
	}
	for done := false; !done; {
		var accounts []strongroom.UserID
		err := s.store.Write(ctx, store.TenantScope(t.Tenant), func(tx *store.Tx) error {
			var err error
			if done, accounts, err = tx.PurgeTenantBatch(ctx, batching.Size); err != nil {
				return err
			}
			return auditAccountsDeleted(ctx, tx, accounts)
		})
		s.forgetAccounts(accounts)
		if err != nil {
			return err
		}
		if done {
			break
		}
		if batching.AfterBatch != nil {
			if err := batching.AfterBatch(); err != nil {
				return err
			}
		}
		if ok, err := s.store.AcquireLease(ctx, TerminationLease, holder, s.now(), ttl); err != nil || !ok {
			return cmp.Or(err, errors.New("lost the termination lease to another replica"))
		}
	}
	var cert []byte
	var accounts []strongroom.UserID
	err = s.store.Write(ctx, store.TenantScope(t.Tenant), func(tx *store.Tx) error {
		var err error
		accounts, err = tx.PurgeTenant(ctx, now, func(deleted, retained map[string]int64) ([]byte, error) {
			c := retention.Certificate{Tenant: string(t.Tenant), Organization: t.Name, RequestedBy: t.RequestedBy,
				RequestedAt: t.RequestedAt.Format(time.RFC3339Nano), WindowEnded: t.PurgeAfter.Format(time.RFC3339Nano),
				DeletedAt: now.Format(time.RFC3339Nano), Deleted: deleted, Retained: retained, KeysDestroyed: keys}
			if err := c.Sign(signer); err != nil {
				return nil, err
			}
			var err error
			cert, err = json.Marshal(c)
			return cert, err
		})
		if err != nil {
			return err
		}
		return auditAccountsDeleted(ctx, tx, accounts)
	})
	s.forgetAccounts(accounts)
	s.terminations.del(t.Tenant)
	s.members.delFunc(func(k memberKey, _ *strongroom.Membership) bool { return k.tenant == t.Tenant })
	if err != nil {
		return err
	}
	if err := s.AuditPlatform(ctx, "org.purge", "organization", string(t.Tenant), json.RawMessage(cert)); err != nil {
		return err
	}
	if fn := s.afterShred.Load(); fn != nil {
		// Keyring backups from before still hold the destroyed keys: they are
		// replaced now, not at the next scheduled backup (LIF-04).
		if err := (*fn)(ctx, t.Tenant); err != nil {
			return fmt.Errorf("the organization is purged and its keys destroyed, but rewriting the keyring backups failed (older ones still hold its keys): %w", err)
		}
	}
	return nil
}

// auditAccountsDeleted records, in the purged organization's audit log (kept
// after the purge) and in the transaction that deleted them, each account the
// purge deleted because it belonged to no other organization.
func auditAccountsDeleted(ctx context.Context, tx *store.Tx, accounts []strongroom.UserID) error {
	for _, u := range accounts {
		if err := audit(ctx, tx, "account.delete", "user", string(u), map[string]string{"reason": "termination purge: no other organization"}); err != nil {
			return err
		}
	}
	return nil
}

// forgetAccounts drops the cached sessions of deleted accounts (their rows
// are gone with the accounts).
func (s *Service) forgetAccounts(accounts []strongroom.UserID) {
	if len(accounts) == 0 {
		return
	}
	s.sessions.delFunc(func(_ string, v *strongroom.Session) bool { return slices.Contains(accounts, v.UserID) })
}

// OnShred sets what runs after an organization's keys are destroyed and its
// data purged: serve rewrites the keyring backups without the destroyed keys
// (docs/operations.md). A failure is the purge's error, logged by the purger.
func (s *Service) OnShred(fn func(ctx context.Context, tenant strongroom.TenantID) error) {
	s.afterShred.Store(&fn)
}

// DeletionCertificate returns an organization's signed deletion certificate:
// to operators by organization, or to anyone holding the token given when it
// was terminated.
func (s *Service) DeletionCertificate(ctx context.Context, org strongroom.TenantID, token string) ([]byte, error) {
	var t *store.Termination
	var err error
	if token != "" {
		t, err = s.store.TerminationByToken(ctx, authn.HashToken(token))
		if strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
			return nil, strongroom.Errorf(strongroom.ENOTFOUND, "no deletion certificate for this token")
		}
	} else {
		if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
			return nil, err
		}
		t, err = s.store.TerminationOf(ctx, org)
	}
	if err != nil {
		return nil, err
	}
	if t == nil || t.Certificate == nil {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "no deletion certificate has been issued")
	}
	if err := s.AuditPlatform(ctx, "deletion_certificate.read", "organization", string(t.Tenant), nil); err != nil {
		return nil, err
	}
	return t.Certificate, nil
}

// Terminations lists every termination (operators).
func (s *Service) Terminations(ctx context.Context) ([]TerminationStatus, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	ts, err := s.store.Terminations(ctx, 1000)
	if err != nil {
		return nil, err
	}
	out := make([]TerminationStatus, 0, len(ts))
	for i := range ts {
		out = append(out, *toTerminationStatus(&ts[i]))
	}
	return out, nil
}

// RunPurger purges due terminations every interval until ctx ends.
func (s *Service) RunPurger(ctx context.Context, holder string, interval time.Duration) {
	if holder == "" {
		holder = processHolder()
	}
	runEvery(ctx, interval, func() {
		s.runJob(ctx, "termination_purger", "purging terminated organizations", func(ctx context.Context) ([]any, error) {
			rep, err := s.PurgeTerminated(ctx, holder, 0)
			if err != nil || len(rep.Purged) == 0 {
				return nil, err
			}
			return []any{"purged", len(rep.Purged)}, nil
		})
	})
}
