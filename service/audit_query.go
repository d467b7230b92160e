package service

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	auditexport "strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/store"
)

// Querying and exporting audit logs (LOG-01, LOG-02; docs/audit-log.md, "Query
// and export"). An organization's Admins query its log and export it for
// verification away from the server; operators query the platform's log.
// Reading the log is itself audited: every query page as "audit.read", every
// export as "audit.export", written before the answer leaves.

// The page sizes of an audit query.
const (
	DefaultAuditPageSize = 100
	MaxAuditPageSize     = 500
)

// AuditQueryInput is an audit query as the caller wrote it: each field is a
// query parameter's text, empty when it was not given. Every field is
// validated; a bad one is EINVALID naming the parameter.
type AuditQueryInput struct {
	From, To string // RFC 3339; From ≤ time < To
	Actor    string // actor ID
	Action   string // exact, or a prefix ending in ".*" ("auth.*")
	Result   string // success, failure or denied
	Target   string // target ID
	Limit    string // 1 to MaxAuditPageSize; default DefaultAuditPageSize
	Cursor   string // the NextCursor of the previous page
}

// AuditItem is an event with its seal, nil while it is not sealed.
type AuditItem struct {
	Event strongroom.AuditEvent
	Seal  []byte
}

// AuditPage is one page of an audit query, oldest event first. NextCursor
// continues after its last event; it is empty on the last page.
//
// A query pages through the log as it stood at its first page: the cursor
// carries the seq of the newest event then, and later pages stop there.
// Without that bound a walk to the end would chase its own tail, since every
// page read appends an "audit.read" event (with a limit of 1, for ever).
// Events appended since are read by a new query.
type AuditPage struct {
	Items      []AuditItem
	NextCursor string
}

// AuditEvents queries an organization's audit log (Admins). The query is
// audited as "audit.read" in that log.
func (s *Service) AuditEvents(ctx context.Context, org strongroom.TenantID, in AuditQueryInput) (*AuditPage, error) {
	if err := s.Authorize(ctx, access.AuditRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	return s.queryAudit(ctx, org, in)
}

// PlatformAuditEvents queries the platform's audit log (operators): operator
// and system actions, and refusals outside any organization. The query is
// audited as "audit.read" in that log.
func (s *Service) PlatformAuditEvents(ctx context.Context, in AuditQueryInput) (*AuditPage, error) {
	if err := s.Authorize(ctx, access.Operator, access.Resource{}); err != nil {
		return nil, err
	}
	return s.queryAudit(ctx, strongroom.PlatformTenant, in)
}

func (s *Service) queryAudit(ctx context.Context, t strongroom.TenantID, in AuditQueryInput) (*AuditPage, error) {
	q, given, err := parseAuditQuery(in)
	if err != nil {
		return nil, err
	}
	want := q.Limit
	q.Limit++ // one more tells whether another page follows
	var links []store.AuditLink
	err = s.store.Read(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		if q.Through == 0 { // the first page: the log as it stands now
			var err error
			if q.Through, err = tx.LastAuditEventSeq(ctx); err != nil || q.Through == 0 {
				return err
			}
		}
		var err error
		links, err = tx.QueryAuditEvents(ctx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	page := &AuditPage{Items: make([]AuditItem, 0, min(len(links), want))}
	for i, l := range links {
		if i == want {
			page.NextCursor = auditCursor(links[want-1].Seq, q.Through)
			break
		}
		page.Items = append(page.Items, AuditItem{Event: *l.Event, Seal: l.Seal})
	}
	// The read is audited before it is answered (security invariant 4): what
	// was asked, and how many events were shown.
	err = s.store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
		return audit(ctx, tx, "audit.read", "audit_log", string(t), map[string]any{"query": given, "returned": len(page.Items)})
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// The action filter: dot-separated lower-case words, or such a prefix and ".*".
var auditActionRE = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?$`)

func paramError(name, format string, args ...any) error {
	return strongroom.Errorf(strongroom.EINVALID, "query parameter %q: "+format, append([]any{name}, args...)...)
}

// parseAuditQuery validates a query. given is what was asked, for the audit
// event.
func parseAuditQuery(in AuditQueryInput) (store.AuditQuery, map[string]string, error) {
	q := store.AuditQuery{Limit: DefaultAuditPageSize}
	given := map[string]string{}
	for name, v := range map[string]string{"from": in.From, "to": in.To, "actor": in.Actor, "action": in.Action,
		"result": in.Result, "target": in.Target, "limit": in.Limit, "cursor": in.Cursor} {
		if v != "" {
			given[name] = v
		}
	}
	for _, p := range []struct {
		name string
		v    string
		t    *time.Time
	}{{"from", in.From, &q.From}, {"to", in.To, &q.To}} {
		if p.v == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339Nano, p.v)
		if err != nil {
			return q, nil, paramError(p.name, "must be an RFC 3339 time, such as 2025-03-14T15:09:26Z")
		}
		*p.t = tm.UTC()
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return q, nil, paramError("to", "must be later than from")
	}
	for _, p := range []struct {
		name string
		v    string
		dst  *string
	}{{"actor", in.Actor, &q.ActorID}, {"target", in.Target, &q.TargetID}} {
		if p.v == "" {
			continue
		}
		if len(p.v) > 256 || strings.IndexFunc(p.v, unicode.IsControl) >= 0 {
			return q, nil, paramError(p.name, "must be an ID of at most 256 bytes without control characters")
		}
		*p.dst = p.v
	}
	if in.Action != "" {
		if len(in.Action) > 128 || !auditActionRE.MatchString(in.Action) {
			return q, nil, paramError("action", "must be an action such as record.create, or a prefix ending in .* such as auth.*")
		}
		if prefix, ok := strings.CutSuffix(in.Action, "*"); ok {
			q.ActionPrefix = prefix // with its dot: "auth.*" matches "auth.signin", not "authz.x"
		} else {
			q.Action = in.Action
		}
	}
	switch r := strongroom.AuditResult(in.Result); r {
	case "":
	case strongroom.ResultSuccess, strongroom.ResultFailure, strongroom.ResultDenied:
		q.Result = r
	default:
		return q, nil, paramError("result", "must be success, failure or denied")
	}
	if in.Limit != "" {
		n, err := strconv.Atoi(in.Limit)
		if err != nil || n < 1 || n > MaxAuditPageSize || strconv.Itoa(n) != in.Limit {
			return q, nil, paramError("limit", "must be a whole number from 1 to %d", MaxAuditPageSize)
		}
		q.Limit = n
	}
	if in.Cursor != "" {
		after, through, ok := parseAuditCursor(in.Cursor)
		if !ok {
			return q, nil, paramError("cursor", "is not a cursor this server returned")
		}
		q.After, q.Through = after, through
	}
	return q, given, nil
}

// auditCursor is the opaque cursor of the page after seq, in a walk through
// the log up to seq through: "seq.through" in decimal, in base64url.
func auditCursor(seq, through int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10) + "." + strconv.FormatInt(through, 10)))
}

func parseAuditCursor(c string) (after, through int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, false
	}
	a, th, found := strings.Cut(string(b), ".")
	after, err1 := strconv.ParseInt(a, 10, 64)
	through, err2 := strconv.ParseInt(th, 10, 64)
	ok = found && err1 == nil && err2 == nil && after > 0 && through >= after && auditCursor(after, through) == c
	return after, through, ok
}

// AuditExport is an export of an organization's audit log, decided on and
// audited; Write streams it.
type AuditExport struct {
	st   *store.Store
	plan *auditexport.ExportPlan
}

// Header is the export's first line: what it holds and what it leaves out.
func (x *AuditExport) Header() auditexport.ExportHeader { return x.plan.Header }

// Write streams the export to w in constant memory. An error part way leaves
// w with a partial export, which verification refuses as cut short.
func (x *AuditExport) Write(ctx context.Context, w io.Writer) error {
	return auditexport.Export(ctx, w, x.st, x.plan)
}

// ExportAudit prepares an export of an organization's audit log for offline
// verification (Admins, with a recent sign-in: the export holds every
// member's sign-ins with their addresses). It holds every event through the
// newest signed checkpoint; later ones are counted in its header. The export
// is audited as "audit.export", with those counts, before a byte of it is
// written: the event records the intent, and, written after the export's
// checkpoint, is not in the export itself.
func (s *Service) ExportAudit(ctx context.Context, org strongroom.TenantID) (*AuditExport, error) {
	if err := s.Authorize(ctx, access.AuditRead, access.Resource{Tenant: org}); err != nil {
		return nil, err
	}
	if err := s.requireStepUp(ctx); err != nil {
		return nil, err
	}
	key, err := s.keys.ExistingSigningKey(ctx)
	if err != nil {
		return nil, err
	}
	var keys []ed25519.PublicKey
	if key != nil { // none until the sequencer first runs: then there is no checkpoint either
		keys = append(keys, key.PublicKey())
	}
	plan, err := auditexport.PlanExport(ctx, s.store, org, keys, s.clock())
	if err != nil {
		return nil, err
	}
	h := plan.Header
	err = s.store.Write(ctx, store.TenantScope(org), func(tx *store.Tx) error {
		return audit(ctx, tx, "audit.export", "audit_log", string(org), map[string]int64{"through_seq": h.ThroughSeq,
			"events": h.Events, "checkpoints": h.Checkpoints, "excluded_sealed": h.ExcludedSealed, "excluded_unsealed": h.ExcludedUnsealed})
	})
	if err != nil {
		return nil, err
	}
	return &AuditExport{st: s.store, plan: plan}, nil
}
