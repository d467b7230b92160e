package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// Access reviews (IAM-15): campaigns and their entries are rows of the
// reviewed organization, or of the platform tenant for the operators' review.

const campaignColumns = "id, period, opened_by, opened_at, due_at, reminded_at, completed_at, completed_by"

// CreateReviewCampaign inserts a campaign with its snapshot. A second
// campaign for the same period is ECONFLICT.
func (tx *Tx) CreateReviewCampaign(ctx context.Context, c *strongroom.ReviewCampaign, entries []strongroom.ReviewEntry) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO review_campaigns (tenant_id, "+campaignColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		string(t), c.ID, c.Period, string(c.OpenedBy), micros(c.OpenedAt), micros(c.DueAt), nullMicros(c.RemindedAt),
		nullMicros(c.CompletedAt), string(c.CompletedBy))
	if isUniqueViolation(err) {
		return strongroom.Errorf(strongroom.ECONFLICT, "a review campaign exists for this period")
	}
	if err != nil {
		return fmt.Errorf("inserting review campaign: %w", err)
	}
	for _, e := range entries {
		clients := e.Clients
		if clients == nil {
			clients = []strongroom.ClientID{}
		}
		b, err := json.Marshal(clients)
		if err != nil {
			return fmt.Errorf("encoding client assignments: %w", err)
		}
		_, err = tx.exec(ctx, `INSERT INTO review_entries (tenant_id, campaign_id, user_id, email, role, rank, clients,
			last_session_at, last_key_use_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			string(t), c.ID, string(e.UserID), e.Email, e.Role, e.Rank, string(b), nullMicros(e.LastSessionAt), nullMicros(e.LastKeyUseAt))
		if err != nil {
			return fmt.Errorf("inserting review entry: %w", err)
		}
	}
	return nil
}

func scanCampaign(row interface{ Scan(...any) error }) (*strongroom.ReviewCampaign, error) {
	var c strongroom.ReviewCampaign
	var opened, due int64
	var reminded, completed sql.NullInt64
	var openedBy, completedBy string
	err := row.Scan(&c.ID, &c.Period, &openedBy, &opened, &due, &reminded, &completed, &completedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "review campaign not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading review campaign: %w", err)
	}
	c.OpenedBy, c.CompletedBy = strongroom.UserID(openedBy), strongroom.UserID(completedBy)
	c.OpenedAt, c.DueAt = fromMicros(opened), fromMicros(due)
	c.RemindedAt, c.CompletedAt = optMicros(reminded), optMicros(completed)
	return &c, nil
}

// ReviewCampaign returns one campaign of the bound tenant.
func (tx *Tx) ReviewCampaign(ctx context.Context, id string) (*strongroom.ReviewCampaign, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return scanCampaign(tx.q.QueryRowContext(ctx, "SELECT "+campaignColumns+" FROM review_campaigns WHERE tenant_id = $1 AND id = $2", string(t), id))
}

// ReviewCampaigns lists the bound tenant's campaigns, newest first.
func (tx *Tx) ReviewCampaigns(ctx context.Context) ([]strongroom.ReviewCampaign, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "review campaigns", scanCampaign,
		"SELECT "+campaignColumns+" FROM review_campaigns WHERE tenant_id = $1 ORDER BY opened_at DESC, id DESC", string(t))
}

// ReviewProgress is how many entries a campaign has and how many are decided.
type ReviewProgress struct {
	Entries, Decided int
}

// ReviewProgress counts the entries and decisions of each of the bound
// tenant's campaigns, by campaign id.
func (tx *Tx) ReviewProgress(ctx context.Context) (map[string]ReviewProgress, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx, `SELECT campaign_id, COUNT(*), COUNT(decision) FROM review_entries
		WHERE tenant_id = $1 GROUP BY campaign_id`, string(t))
	if err != nil {
		return nil, fmt.Errorf("counting review entries: %w", err)
	}
	defer rows.Close()
	out := map[string]ReviewProgress{}
	for rows.Next() {
		var id string
		var p ReviewProgress
		if err := rows.Scan(&id, &p.Entries, &p.Decided); err != nil {
			return nil, fmt.Errorf("counting review entries: %w", err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting review entries: %w", err)
	}
	return out, nil
}

func scanEntry(row interface{ Scan(...any) error }) (*strongroom.ReviewEntry, error) {
	var e strongroom.ReviewEntry
	var clients string
	var session, key, decided sql.NullInt64
	var decision, decidedBy sql.NullString
	if err := row.Scan(&e.UserID, &e.Email, &e.Role, &e.Rank, &clients, &session, &key, &decision, &decidedBy, &decided, &e.Note); err != nil {
		return nil, fmt.Errorf("reading review entry: %w", err)
	}
	if err := json.Unmarshal([]byte(clients), &e.Clients); err != nil {
		return nil, fmt.Errorf("decoding client assignments: %w", err)
	}
	e.LastSessionAt, e.LastKeyUseAt, e.DecidedAt = optMicros(session), optMicros(key), optMicros(decided)
	e.Decision, e.DecidedBy = decision.String, strongroom.UserID(decidedBy.String)
	return &e, nil
}

// ReviewEntries lists a campaign's entries, most privileged first.
func (tx *Tx) ReviewEntries(ctx context.Context, campaign string) ([]strongroom.ReviewEntry, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "review entries", scanEntry,
		`SELECT user_id, email, role, rank, clients, last_session_at, last_key_use_at, decision, decided_by, decided_at, note
		 FROM review_entries WHERE tenant_id = $1 AND campaign_id = $2 ORDER BY rank, email`, string(t), campaign)
}

// DecideReviewEntry records a decision on an undecided entry of an open
// campaign. Anything else (no such entry, decided already, campaign
// completed) is ECONFLICT or ENOTFOUND; nothing changes.
func (tx *Tx) DecideReviewEntry(ctx context.Context, campaign string, user strongroom.UserID, decision string, by strongroom.UserID, at time.Time, note string) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE review_entries SET decision = $1, decided_by = $2, decided_at = $3, note = $4
		WHERE tenant_id = $5 AND campaign_id = $6 AND user_id = $7 AND decision IS NULL
		AND EXISTS (SELECT 1 FROM review_campaigns c WHERE c.tenant_id = $5 AND c.id = $6 AND c.completed_at IS NULL)`,
		decision, string(by), micros(at), note, string(t), campaign, string(user))
	if err != nil {
		return fmt.Errorf("recording review decision: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("recording review decision: %w", err)
	}
	if n != 1 {
		return strongroom.Errorf(strongroom.ECONFLICT, "the entry is decided already or the campaign is completed")
	}
	return nil
}

// CompleteReviewCampaign closes an open campaign for good.
func (tx *Tx) CompleteReviewCampaign(ctx context.Context, id string, by strongroom.UserID, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE review_campaigns SET completed_at = $1, completed_by = $2 WHERE tenant_id = $3 AND id = $4 AND completed_at IS NULL",
		micros(at), string(by), string(t), id)
	if err != nil {
		return fmt.Errorf("completing review campaign: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return fmt.Errorf("completing review campaign: %w", err)
		}
		return strongroom.Errorf(strongroom.ECONFLICT, "the campaign is completed already")
	}
	return nil
}

// MarkReviewReminded records when reminders for an open campaign went out.
func (tx *Tx) MarkReviewReminded(ctx context.Context, id string, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE review_campaigns SET reminded_at = $1 WHERE tenant_id = $2 AND id = $3 AND completed_at IS NULL",
		micros(at), string(t), id)
	return affectedOne(res, err, "review campaign")
}

// MemberActivity returns, for every member of the bound organization, the
// last request seen on any of their sessions and the last use of an API key
// they created in this organization.
func (tx *Tx) MemberActivity(ctx context.Context) (map[strongroom.UserID][2]*time.Time, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx, `SELECT m.user_id,
		(SELECT max(s.last_seen_at) FROM sessions s WHERE s.user_id = m.user_id),
		(SELECT max(k.last_used_at) FROM api_keys k WHERE k.tenant_id = m.tenant_id AND k.created_by = m.user_id)
		FROM memberships m WHERE m.tenant_id = $1`, string(t))
	if err != nil {
		return nil, fmt.Errorf("reading member activity: %w", err)
	}
	defer rows.Close()
	out := map[strongroom.UserID][2]*time.Time{}
	for rows.Next() {
		var u string
		var s, k sql.NullInt64
		if err := rows.Scan(&u, &s, &k); err != nil {
			return nil, fmt.Errorf("reading member activity: %w", err)
		}
		out[strongroom.UserID(u)] = [2]*time.Time{optMicros(s), optMicros(k)}
	}
	return out, rows.Err()
}

// OperatorAccounts lists the platform's operator accounts with the last request
// seen on any of their sessions. It needs the platform tenant.
func (tx *Tx) OperatorAccounts(ctx context.Context) ([]strongroom.ReviewEntry, error) {
	if _, err := tx.platform(); err != nil {
		return nil, err
	}
	return list(ctx, tx.q, "operators", func(row interface{ Scan(...any) error }) (*strongroom.ReviewEntry, error) {
		var e strongroom.ReviewEntry
		var s sql.NullInt64
		if err := row.Scan(&e.UserID, &e.Email, &s); err != nil {
			return nil, fmt.Errorf("reading operator: %w", err)
		}
		e.Role, e.LastSessionAt = "operator", optMicros(s)
		return &e, nil
	}, `SELECT u.id, u.email, (SELECT max(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id)
		FROM users u WHERE u.operator = 1 ORDER BY u.email`)
}

// Security-policy changes (INC-07): platform rows, acknowledged by each
// organization in its own rows.

const policyColumns = "id, title, summary, body, url, effective_at, published_by, published_at"

// CreatePolicyChange inserts a published policy change.
func (tx *Tx) CreatePolicyChange(ctx context.Context, c *strongroom.PolicyChange) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "INSERT INTO policy_changes (tenant_id, "+policyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		string(t), c.ID, c.Title, c.Summary, c.Body, c.URL, micros(c.EffectiveAt), string(c.PublishedBy), micros(c.PublishedAt))
	if err != nil {
		return fmt.Errorf("inserting policy change: %w", err)
	}
	return nil
}

func scanPolicyChange(row interface{ Scan(...any) error }) (*strongroom.PolicyChange, error) {
	var c strongroom.PolicyChange
	var eff, pub int64
	var by string
	err := row.Scan(&c.ID, &c.Title, &c.Summary, &c.Body, &c.URL, &eff, &by, &pub)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "policy change not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy change: %w", err)
	}
	c.EffectiveAt, c.PublishedAt, c.PublishedBy = fromMicros(eff), fromMicros(pub), strongroom.UserID(by)
	return &c, nil
}

// PolicyChanges lists the published policy changes, newest first.
func (tx *Tx) PolicyChanges(ctx context.Context) ([]strongroom.PolicyChange, error) {
	return platformList(ctx, tx, "policy changes", scanPolicyChange,
		"SELECT "+policyColumns+" FROM policy_changes WHERE tenant_id = $1 ORDER BY published_at DESC, id DESC")
}

// PolicyAck is an organization's acknowledgement of a policy change.
type PolicyAck struct {
	By strongroom.UserID
	At time.Time
}

// PolicyAcks returns the bound organization's acknowledgements by change.
func (tx *Tx) PolicyAcks(ctx context.Context) (map[string]PolicyAck, error) {
	t, err := tx.tenant()
	if err != nil {
		return nil, err
	}
	rows, err := tx.q.QueryContext(ctx, "SELECT change_id, acknowledged_by, acknowledged_at FROM policy_acks WHERE tenant_id = $1", string(t))
	if err != nil {
		return nil, fmt.Errorf("reading policy acknowledgements: %w", err)
	}
	defer rows.Close()
	out := map[string]PolicyAck{}
	for rows.Next() {
		var id, by string
		var at int64
		if err := rows.Scan(&id, &by, &at); err != nil {
			return nil, fmt.Errorf("reading policy acknowledgement: %w", err)
		}
		out[id] = PolicyAck{By: strongroom.UserID(by), At: fromMicros(at)}
	}
	return out, rows.Err()
}

// AckPolicyChange records the bound organization's acknowledgement; the first
// one stands.
func (tx *Tx) AckPolicyChange(ctx context.Context, change string, by strongroom.UserID, at time.Time) error {
	t, err := tx.tenant()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO policy_acks (tenant_id, change_id, acknowledged_by, acknowledged_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, change_id) DO NOTHING`, string(t), change, string(by), micros(at))
	if err != nil {
		return fmt.Errorf("recording policy acknowledgement: %w", err)
	}
	return nil
}
