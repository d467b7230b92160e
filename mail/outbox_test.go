package mail

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOutboxBoundAndOrder(t *testing.T) {
	clock := testNow
	o := NewOutbox(OutboxConfig{Capacity: 3, Now: func() time.Time { clock = clock.Add(time.Second); return clock }}, nil)

	if got := o.List(0); len(got) != 0 {
		t.Fatalf("new outbox lists %d messages", len(got))
	}
	var sent []Message
	for i := range 5 {
		m := testMessage1()
		m.Subject = fmt.Sprintf("message %d", i)
		m.HTML = fmt.Sprintf("<p>%d</p>", i)
		if err := o.Send(t.Context(), m); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		sent = append(sent, m)
	}

	all := o.List(0)
	var got []Message
	for _, om := range all {
		got = append(got, om.Message)
	}
	if diff := cmp.Diff([]Message{sent[4], sent[3], sent[2]}, got); diff != "" {
		t.Errorf("List(0), newest first, the last 3 (-want +got):\n%s", diff)
	}
	for i, om := range all {
		if want := testNow.Add(time.Duration(5-i) * time.Second); !om.Time.Equal(want) {
			t.Errorf("message %d time %v, want %v", i, om.Time, want)
		}
		if len(om.ID) != 32 {
			t.Errorf("message %d id %q, want 32 hex digits", i, om.ID)
		}
		if g, ok := o.Get(om.ID); !ok || !cmp.Equal(g, om) {
			t.Errorf("Get(%q) = %+v, %v; want %+v", om.ID, g, ok, om)
		}
	}
	if diff := cmp.Diff(all[:2], o.List(2)); diff != "" {
		t.Errorf("List(2) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all, o.List(10)); diff != "" {
		t.Errorf("List(10) (-want +got):\n%s", diff)
	}
	for _, id := range []string{"", "nope", strings.Repeat("0", 32)} {
		if _, ok := o.Get(id); ok {
			t.Errorf("Get(%q) found a message", id)
		}
	}
}

func TestOutboxDropsOldest(t *testing.T) {
	o := NewOutbox(OutboxConfig{Capacity: 2}, nil)
	var ids []string
	for range 3 {
		if err := o.Send(t.Context(), testMessage1()); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.List(1)[0].ID)
	}
	if _, ok := o.Get(ids[0]); ok {
		t.Error("the oldest message is still there")
	}
	for _, id := range ids[1:] {
		if _, ok := o.Get(id); !ok {
			t.Errorf("message %s is gone", id)
		}
	}
}

func TestOutboxDefaultCapacity(t *testing.T) {
	o := NewOutbox(OutboxConfig{}, nil)
	for range DefaultOutboxCapacity + 5 {
		if err := o.Send(t.Context(), testMessage1()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(o.List(0)); n != DefaultOutboxCapacity {
		t.Errorf("outbox holds %d messages, want %d", n, DefaultOutboxCapacity)
	}
}

func TestOutboxRefusesWhatSMTPRefuses(t *testing.T) {
	o := NewOutbox(OutboxConfig{}, nil)
	m := testMessage1()
	m.To = "ana@example.com\r\nBcc: eve@evil.example"
	if err := o.Send(t.Context(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Send: %v, want ErrInvalidMessage", err)
	}
	if n := len(o.List(0)); n != 0 {
		t.Errorf("outbox holds %d messages", n)
	}
}

func TestOutboxLogHasNoBody(t *testing.T) {
	var logs syncBuffer
	o := NewOutbox(OutboxConfig{}, slog.New(slog.NewTextHandler(&logs, nil)))
	m := Message{
		To:      "ana.lopez@example.com",
		Subject: "Your sign-in code",
		Text:    "Your code is 483920. Or follow https://strongroom.example/m/tok_9f8e7d",
		HTML:    "<p>Your code is <b>483920</b></p>",
		Kind:    "signin-code",
	}
	if err := o.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	id := o.List(1)[0].ID
	out := logs.String()
	for _, want := range []string{"e-mail placed in the development outbox", id, "signin-code", "Your sign-in code", "recipient_domain=example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("log does not contain %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"483920", "tok_9f8e7d", "ana.lopez"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

func TestOutboxConcurrent(t *testing.T) {
	const capacity, writers, each = 50, 8, 100
	o := NewOutbox(OutboxConfig{Capacity: capacity}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m := testMessage1()
				m.Subject = fmt.Sprintf("writer %d message %d", w, i)
				if err := o.Send(t.Context(), m); err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() { // a reader beside each writer
			for range each {
				for _, om := range o.List(5) {
					if _, ok := o.Get(om.ID); !ok && len(o.List(0)) < capacity {
						errs <- fmt.Errorf("listed message %s not found while the outbox is not full", om.ID)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	all := o.List(0)
	if len(all) != capacity {
		t.Fatalf("outbox holds %d messages, want %d", len(all), capacity)
	}
	seen := map[string]bool{}
	last := map[int]int{} // writer -> message number seen last (lists are newest first)
	for _, om := range all {
		if seen[om.ID] {
			t.Errorf("id %s twice", om.ID)
		}
		seen[om.ID] = true
		var w, i int
		if _, err := fmt.Sscanf(om.Subject, "writer %d message %d", &w, &i); err != nil {
			t.Fatalf("subject %q: %v", om.Subject, err)
		}
		if prev, ok := last[w]; ok && i >= prev {
			t.Errorf("writer %d: message %d listed after %d, want newest first", w, i, prev)
		}
		last[w] = i
	}
}
