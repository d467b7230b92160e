package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// TrustAggregates are the platform-wide facts the trust page states about
// organizations and users: counts and one date, never a tenant or a user.
type TrustAggregates struct {
	Orgs            int       // organizations
	OrgsMFARequired int       // organizations whose settings require MFA
	OrgsReviewed    int       // organizations with an access review completed since reviewedSince
	LastOrgReview   time.Time // the newest completed access review of any organization; zero: none
	ActiveUsers     int       // users with a session seen since activeSince
	ActiveUsersMFA  int       // of those, users with a confirmed second factor (TOTP or WebAuthn)
}

// TrustAggregates counts across tenants: on PostgreSQL through the function
// trust_org_aggregates (migration 0016), which row-level security leaves
// the only way to count other tenants' rows from the application role.
func (s *Store) TrustAggregates(ctx context.Context, activeSince, reviewedSince time.Time) (TrustAggregates, error) {
	var a TrustAggregates
	var last sql.NullInt64
	q := "SELECT orgs, mfa_required, reviewed, last_review FROM trust_org_aggregates($1, $2)"
	if s.engine == SQLite {
		q = `SELECT (SELECT count(*) FROM organizations),
			(SELECT count(*) FROM org_settings s JOIN organizations o ON o.id = s.tenant_id
			  WHERE json_extract(s.settings, '$.mfa_required') = 1),
			(SELECT count(DISTINCT c.tenant_id) FROM review_campaigns c WHERE c.tenant_id <> $2 AND c.completed_at >= $1),
			(SELECT max(c.completed_at) FROM review_campaigns c WHERE c.tenant_id <> $2)`
	}
	if err := s.read.QueryRowContext(ctx, q, micros(reviewedSince), string(strongroom.PlatformTenant)).
		Scan(&a.Orgs, &a.OrgsMFARequired, &a.OrgsReviewed, &last); err != nil {
		return a, fmt.Errorf("counting organizations for the trust page: %w", err)
	}
	if last.Valid {
		a.LastOrgReview = fromMicros(last.Int64)
	}
	err := s.read.QueryRowContext(ctx, `SELECT count(DISTINCT s.user_id),
		count(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = s.user_id AND f.confirmed_at IS NOT NULL)
		  THEN s.user_id END)
		FROM sessions s WHERE s.last_seen_at >= $1`, micros(activeSince)).Scan(&a.ActiveUsers, &a.ActiveUsersMFA)
	if err != nil {
		return a, fmt.Errorf("counting users for the trust page: %w", err)
	}
	return a, nil
}
