package logscrub_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"strongroom.dev/strongroom/logscrub"
)

const token = "srs_q8W0Zp3yq5mV3bQ1cJXb5kq9pT0n2x4y6A8C0E2G4I6"

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "request", "request"},
		{"empty", "", ""},
		{"session token", token, "srs_[REDACTED]"},
		{"every prefix", "srk_abc src_abc srl_abc srp_abc sri_abc",
			"srk_[REDACTED] src_[REDACTED] srl_[REDACTED] srp_[REDACTED] sri_[REDACTED]"},
		{"token in a URL", "https://sr.example/verify-email?token=srl_AbC-d_9&x=1",
			"https://sr.example/verify-email?token=srl_[REDACTED]&x=1"},
		{"bare prefix kept", "tokens start with srs_ and srk_", "tokens start with srs_ and srk_"},
		{"not a prefix", "srx_abc usr_abc", "srx_abc usr_abc"},
		{"email", "alice@example.com", "***@example.com"},
		{"email in text", "sent to Alice.B+tag@mail.example.co.uk.", "sent to ***@mail.example.co.uk."},
		{"two emails", "a@x.example, b@y.example", "***@x.example, ***@y.example"},
		{"email in a query", "?to=bob@example.com&y", "?to=***@example.com&y"},
		{"not an email", "@handle and user@localhost and a@", "@handle and user@localhost and a@"},
		{"url password", "postgres://app:s3cret@db.example.com:5432/strongroom",
			"postgres://app:***@db.example.com:5432/strongroom"},
		{"url password, bare host", "postgres://app:s3cret@db/strongroom", "postgres://app:***@db/strongroom"},
		{"url user only", "https://alice@example.com/x", "https://***@example.com/x"},
		{"url without user info", "https://example.com/a@b", "https://example.com/a@b"},
		{"token and email", "user carol@example.org used " + token, "user ***@example.org used srs_[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logscrub.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSecretKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"password", true}, {"smtp_password", true}, {"smtpPassword", true}, {"SMTP_PASSWORD", true},
		{"token", true}, {"session_token", true}, {"tokens", true}, {"secret", true}, {"client_secret", true},
		{"code", true}, {"recovery_code", true}, {"codes", true}, {"cookie", true}, {"Set-Cookie", true},
		{"authorization", true}, {"Authorization", true}, {"key", true}, {"api_key", true}, {"apiKey", true},
		{"APIKey", true}, {"X-Api-Key", true}, {"master_key", true}, {"private_key", true}, {"credentials", true},
		{"passphrase", true}, {"totp", true}, {"oauth2Token", true},

		{"key_id", false}, {"keyID", false}, {"request_id", false}, {"outbox_id", false}, {"message_id", false},
		{"token_count", false}, {"code_length", false}, {"status_code", false}, {"exit_code", false},
		{"public_key", false}, {"password_changed_at", false}, {"auth_time", false}, {"master_key_file", false},
		{"session", false}, {"status", false}, {"route", false}, {"method", false}, {"err", false},
		{"recipient_domain", false}, {"holder", false}, {"checkpoints", false}, {"", false},
	}
	for _, tt := range tests {
		if got := logscrub.SecretKey(tt.key); got != tt.want {
			t.Errorf("SecretKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

// logJSON logs through a scrubbing JSON handler and returns the decoded line.
func logJSON(t *testing.T, f func(*slog.Logger)) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	f(slog.New(logscrub.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))))
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	return m
}

type secretValuer struct{ s string }

func (v secretValuer) LogValue() slog.Value { return slog.StringValue(v.s) }

type config struct {
	Name  string
	Owner string
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want map[string]any
	}{
		{"nothing to scrub", func(l *slog.Logger) {
			l.Info("request", "request_id", "abc", "status", 200, "route", "GET /api/v1/me", "versions", []int{1, 2})
		}, map[string]any{"level": "INFO", "msg": "request", "request_id": "abc", "status": 200.0,
			"route": "GET /api/v1/me", "versions": []any{1.0, 2.0}}},
		{"secret keys", func(l *slog.Logger) {
			l.Info("m", "password", "hunter2", "smtp_password", "x", "token", token, "code", 123456,
				"Authorization", "Bearer x", "key_id", "k1", "status_code", 401)
		}, map[string]any{"level": "INFO", "msg": "m", "password": "[REDACTED]", "smtp_password": "[REDACTED]",
			"token": "[REDACTED]", "code": "[REDACTED]", "Authorization": "[REDACTED]", "key_id": "k1", "status_code": 401.0}},
		{"values", func(l *slog.Logger) {
			l.Warn("signed in "+token, "user", "dana@example.com", "err", errors.New("no account for erin@example.net"),
				"url", "postgres://app:pw@db.example/s")
		}, map[string]any{"level": "WARN", "msg": "signed in srs_[REDACTED]", "user": "***@example.com",
			"err": "no account for ***@example.net", "url": "postgres://app:***@db.example/s"}},
		{"groups", func(l *slog.Logger) {
			l.Info("m", slog.Group("smtp", "host", "mail.example", "password", "pw", "from", "no-reply@example.com",
				slog.Group("auth", "user", "u")), slog.Group("credentials", "user", "u"))
		}, map[string]any{"level": "INFO", "msg": "m",
			"smtp":        map[string]any{"host": "mail.example", "password": "[REDACTED]", "from": "***@example.com", "auth": "[REDACTED]"},
			"credentials": "[REDACTED]"}},
		{"with attrs and groups", func(l *slog.Logger) {
			l.With("token", "t", "who", "frank@example.com").WithGroup("req").With("cookie", "c").
				Info("m", "id", "x", "to", "gina@example.com")
		}, map[string]any{"level": "INFO", "msg": "m", "token": "[REDACTED]", "who": "***@example.com",
			"req": map[string]any{"cookie": "[REDACTED]", "id": "x", "to": "***@example.com"}}},
		{"secret group", func(l *slog.Logger) {
			l.WithGroup("secrets").Info("m", "a", "one", "b", 2)
		}, map[string]any{"level": "INFO", "msg": "m", "secrets": map[string]any{"a": "[REDACTED]", "b": "[REDACTED]"}}},
		{"log valuer", func(l *slog.Logger) {
			l.Info("m", "v", secretValuer{"link " + token}, "k", secretValuer{"fine"})
		}, map[string]any{"level": "INFO", "msg": "m", "v": "link srs_[REDACTED]", "k": "fine"}},
		{"any values", func(l *slog.Logger) {
			l.Info("m", "cfg", config{Name: "n", Owner: "hana@example.com"}, "list", []string{"a", "ivan@example.com"},
				"clean", config{Name: "n", Owner: "o"})
		}, map[string]any{"level": "INFO", "msg": "m", "cfg": "{Name:n Owner:***@example.com}",
			"list": "[a ***@example.com]", "clean": map[string]any{"Name": "n", "Owner": "o"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, logJSON(t, tt.log)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestTextHandler: the text format is scrubbed the same way.
func TestTextHandler(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(logscrub.New(slog.NewTextHandler(&buf, nil)))
	l.Info("sign-in", "email", "judy@example.com", "password", "pw", "token_count", 3)
	out := buf.String()
	for _, bad := range []string{"judy@", "pw "} {
		if strings.Contains(out, bad) {
			t.Errorf("text log holds %q: %s", bad, out)
		}
	}
	if !strings.Contains(out, "email=***@example.com") || !strings.Contains(out, "token_count=3") {
		t.Errorf("text log: %s", out)
	}
}

// TestEnabled follows the wrapped handler's level.
func TestEnabled(t *testing.T) {
	l := slog.New(logscrub.New(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if l.Enabled(t.Context(), slog.LevelInfo) || !l.Enabled(t.Context(), slog.LevelError) {
		t.Error("Enabled does not follow the wrapped handler")
	}
}

func BenchmarkHandleRequestLine(b *testing.B) {
	l := slog.New(logscrub.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
	for b.Loop() {
		l.LogAttrs(b.Context(), slog.LevelInfo, "request", slog.String("request_id", "0123456789abcdef01234567"),
			slog.String("method", "GET"), slog.String("route", "GET /api/v1/orgs/{org}/collections/{collection}/records/{id}"),
			slog.Int("status", 200), slog.Duration("duration", 1234))
	}
}
