package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
)

// Subscriptions: addresses that asked, by double opt-in, for the notices of
// one topic (strongroom.TopicStatus, strongroom.TopicSubprocessors). Platform
// rows in one table; every method names the topic, so a token or id of one
// topic never reaches a subscription of another.

const subscriptionColumns = "id, topic, email, token_hash, confirmed_at, created_at"

func scanSubscription(row interface{ Scan(...any) error }) (*strongroom.Subscriber, error) {
	var s strongroom.Subscriber
	var confirmed sql.NullInt64
	var created int64
	err := row.Scan(&s.ID, &s.Topic, &s.Email, &s.TokenHash, &confirmed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "subscription not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading subscription: %w", err)
	}
	s.ConfirmedAt, s.CreatedAt = optMicros(confirmed), fromMicros(created)
	return &s, nil
}

// SubscriptionByEmail returns an address's subscription to topic.
func (tx *Tx) SubscriptionByEmail(ctx context.Context, topic, email string) (*strongroom.Subscriber, error) {
	return platformRow(ctx, tx, scanSubscription,
		"SELECT "+subscriptionColumns+" FROM subscriptions WHERE tenant_id = $1 AND topic = $2 AND email = $3", topic, email)
}

// SubscriptionByToken returns the subscription to topic whose token hashes
// to hash.
func (tx *Tx) SubscriptionByToken(ctx context.Context, topic string, hash []byte) (*strongroom.Subscriber, error) {
	return platformRow(ctx, tx, scanSubscription,
		"SELECT "+subscriptionColumns+" FROM subscriptions WHERE tenant_id = $1 AND topic = $2 AND token_hash = $3", topic, hash)
}

// PutSubscription inserts a subscription to s.Topic or, for an unconfirmed
// one of the same address, replaces its token. A confirmed one is left as it
// is.
func (tx *Tx) PutSubscription(ctx context.Context, s *strongroom.Subscriber) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO subscriptions (tenant_id, `+subscriptionColumns+`) VALUES ($1, $2, $3, $4, $5, NULL, $6)
		ON CONFLICT (tenant_id, topic, email) DO UPDATE SET token_hash = excluded.token_hash WHERE subscriptions.confirmed_at IS NULL`,
		string(t), s.ID, s.Topic, s.Email, s.TokenHash, micros(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("storing subscription: %w", err)
	}
	return nil
}

// ConfirmSubscription marks a subscription to topic confirmed (the first
// confirmation stands).
func (tx *Tx) ConfirmSubscription(ctx context.Context, topic, id string, at time.Time) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, "UPDATE subscriptions SET confirmed_at = $1 WHERE tenant_id = $2 AND topic = $3 AND id = $4 AND confirmed_at IS NULL",
		micros(at), string(t), topic, id)
	if err != nil {
		return fmt.Errorf("confirming subscription: %w", err)
	}
	return nil
}

// DeleteSubscription removes a subscription to topic.
func (tx *Tx) DeleteSubscription(ctx context.Context, topic, id string) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "DELETE FROM subscriptions WHERE tenant_id = $1 AND topic = $2 AND id = $3", string(t), topic, id)
	return affectedOne(res, err, "subscription")
}

// ConfirmedSubscriptions lists the confirmed subscriptions to topic.
func (tx *Tx) ConfirmedSubscriptions(ctx context.Context, topic string) ([]strongroom.Subscriber, error) {
	return platformList(ctx, tx, "subscriptions", scanSubscription,
		"SELECT "+subscriptionColumns+" FROM subscriptions WHERE tenant_id = $1 AND topic = $2 AND confirmed_at IS NOT NULL ORDER BY id", topic)
}

// SetSubscriptionToken replaces a subscription's token hash (a fresh
// unsubscribe link in a message).
func (tx *Tx) SetSubscriptionToken(ctx context.Context, topic, id string, hash []byte) error {
	t, err := tx.platform()
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE subscriptions SET token_hash = $1 WHERE tenant_id = $2 AND topic = $3 AND id = $4", hash, string(t), topic, id)
	return affectedOne(res, err, "subscription")
}

// SubscriptionCounts counts the subscriptions to topic: confirmed, and
// pending (the confirmation link not followed yet).
func (tx *Tx) SubscriptionCounts(ctx context.Context, topic string) (confirmed, pending int, err error) {
	t, err := tx.platform()
	if err != nil {
		return 0, 0, err
	}
	err = tx.q.QueryRowContext(ctx, `SELECT COUNT(confirmed_at), COUNT(*) - COUNT(confirmed_at)
		FROM subscriptions WHERE tenant_id = $1 AND topic = $2`, string(t), topic).Scan(&confirmed, &pending)
	if err != nil {
		return 0, 0, fmt.Errorf("counting subscriptions: %w", err)
	}
	return confirmed, pending, nil
}
