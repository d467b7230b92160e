package auditstream

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The webhook's headers. The signature covers the timestamp and the body; the
// event IDs header is a convenience for receivers that drop duplicates before
// parsing, and must be checked against the (signed) body.
const (
	HeaderEventIDs  = "X-Strongroom-Event-Ids"
	HeaderTimestamp = "X-Strongroom-Timestamp"
	HeaderSignature = "X-Strongroom-Signature"
)

// MinSecretSize is the shortest webhook secret accepted, in bytes.
const MinSecretSize = 16

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL receives the events: https, or http to a loopback address only (a
	// forwarder on the same host). It carries no credentials.
	URL string
	// Secret is the HMAC-SHA256 key shared with the receiver, at least
	// MinSecretSize bytes.
	Secret []byte
	// Timeout bounds one attempt, from connecting to reading the answer
	// (default 30s).
	Timeout time.Duration
	// Transport sends the requests; nil: a copy of http.DefaultTransport (which
	// honours HTTPS_PROXY).
	Transport http.RoundTripper
	Now       func() time.Time // nil: time.Now
}

// Webhook posts batches of events as JSON to a URL, signed with HMAC-SHA256:
//
//	POST <url>
//	Content-Type: application/json
//	X-Strongroom-Event-Ids: <id>,<id>,…
//	X-Strongroom-Timestamp: <Unix seconds>
//	X-Strongroom-Signature: v1=<hex HMAC-SHA256(secret, timestamp "." body)>
//
//	{"events":[<Event>, …]}
//
// A 2xx answer means the receiver has the events; anything else, or no
// answer within the timeout, is a failure and the same events are posted
// again (with a new timestamp and signature). Redirects are not followed.
type Webhook struct {
	url    string
	name   string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// NewWebhook returns a webhook sink.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if err := CheckWebhookURL(cfg.URL); err != nil {
		return nil, err
	}
	if len(cfg.Secret) < MinSecretSize {
		return nil, fmt.Errorf("auditstream: the webhook secret must have at least %d bytes", MinSecretSize)
	}
	w := &Webhook{url: cfg.URL, name: webhookName(cfg.URL), secret: bytes.Clone(cfg.Secret), now: cfg.Now}
	if w.now == nil {
		w.now = time.Now
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	w.client = &http.Client{
		Transport: rt,
		Timeout:   timeout,
		// A redirect would send the events somewhere not configured, and
		// turns a POST into a GET: it is a failure to fix at the receiver.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w, nil
}

// CheckWebhookURL reports whether u may receive the audit stream: an absolute
// https URL, or http to a loopback address, without credentials or fragment.
func CheckWebhookURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.Opaque != "" {
		return errors.New("must be an absolute URL such as https://siem.example.com/strongroom")
	}
	if p.User != nil {
		return errors.New("must not hold credentials: requests are authenticated by their signature")
	}
	if p.Fragment != "" {
		return errors.New("must not have a fragment")
	}
	switch p.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(p.Hostname()) {
			return nil
		}
		return errors.New("must use https (http only to a loopback address)")
	}
	return errors.New("must use https (http only to a loopback address)")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// webhookName is the URL without its query, which may carry a token: the
// name is logged and stored with the cursor. A query is represented by a
// hash, so that URLs that differ in it keep cursors of their own.
func webhookName(u string) string {
	p, _ := url.Parse(u)
	q := p.RawQuery
	p.RawQuery, p.ForceQuery = "", false
	name := "webhook:" + p.String()
	if q != "" {
		sum := sha256.Sum256([]byte(q))
		name += "?sha256:" + hex.EncodeToString(sum[:8])
	}
	return name
}

// Name is "webhook:" and the URL (a query replaced by its hash).
func (w *Webhook) Name() string { return w.name }

// batch is the body of a webhook request.
type batch struct {
	Events []Event `json:"events"`
}

// Deliver posts events in one request.
func (w *Webhook) Deliver(ctx context.Context, events []Event) error {
	body, err := json.Marshal(batch{Events: events})
	if err != nil {
		return fmt.Errorf("encoding audit events: %w", err)
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("posting to %s: %w", w.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Strongroom-Audit-Stream/1")
	req.Header.Set(HeaderEventIDs, strings.Join(ids, ","))
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, "v1="+Sign(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, query and all
		}
		return fmt.Errorf("posting to %s: %w", w.name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &StatusError{Sink: w.name, Code: resp.StatusCode, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), w.now())}
}

// Sign returns the hex HMAC-SHA256 under secret of timestamp "." body: the v1
// signature of a webhook request.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// StatusError is a webhook's answer other than 2xx.
type StatusError struct {
	Sink       string
	Code       int
	retryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.Sink, e.Code, http.StatusText(e.Code))
}

// Permanent reports whether the answer says that the request itself is
// refused (a 3xx, or a 4xx other than 408 and 429): sending it again will not
// help until the receiver's configuration changes. The streamer still sends
// it again, with backoff, and logs an error: events are never skipped.
func (e *StatusError) Permanent() bool {
	return e.Code < 400 || e.Code < 500 && e.Code != http.StatusRequestTimeout && e.Code != http.StatusTooManyRequests
}

// RetryAfter is the wait the receiver asked for (Retry-After), or 0.
func (e *StatusError) RetryAfter() time.Duration { return e.retryAfter }

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(min(n, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}
