package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
)

// Security invariant 3 over the identity flows: after sign-up, address
// verification, password, e-mail code and link, TOTP and recovery-code
// sign-ins, a password reset and change, step-up, API keys and an accepted
// invitation, no password, session token, API key, e-mailed code or link
// token, challenge, TOTP secret or recovery code is in the clear in the
// database (SQLite: every byte of the data folder, WAL included; PostgreSQL:
// the text of every row of every table, read as the owner) or in the logs.

// secTLog is a concurrency-safe log sink.
type secTLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *secTLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *secTLog) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// secTSecrets collects what must never be stored or logged in the clear.
type secTSecrets struct {
	names  []string
	values [][]byte
	codes  []string // short numeric codes, matched only as whole words
}

func (s *secTSecrets) add(name string, v string) string {
	if v == "" {
		panic("empty secret " + name)
	}
	s.names = append(s.names, name)
	s.values = append(s.values, []byte(v))
	return v
}

func (s *secTSecrets) addCode(name, code string) string {
	s.add(name+" (hex)", hex.EncodeToString([]byte(code)))
	s.codes = append(s.codes, code)
	return code
}

// find reports which secrets occur in b: as text, as the hex that PostgreSQL
// shows for bytea, and short codes as whole words (a six-digit code occurs by
// chance inside longer numbers).
func (s *secTSecrets) find(b []byte) []string {
	var found []string
	lower := bytes.ToLower(b)
	for i, v := range s.values {
		if bytes.Contains(b, v) || bytes.Contains(lower, []byte(hex.EncodeToString(v))) {
			found = append(found, s.names[i])
		}
	}
	for _, c := range s.codes {
		if regexp.MustCompile(`(^|[^0-9A-Za-z])` + c + `([^0-9A-Za-z]|$)`).Match(b) {
			found = append(found, "code "+c)
		}
	}
	return found
}

type secTEnv struct {
	srv   *testkit.Server
	raw   *sql.DB
	dir   string
	clock *testClock
	log   *secTLog
	s     secTSecrets
}

func (env *secTEnv) do(t *testing.T, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	r := testkit.MustStatus(t, call(t, env.srv, token, method, path, body), want)
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// passphrase is a new password no one else uses.
func (env *secTEnv) passphrase(t *testing.T, name string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return env.s.add(name, "vault "+hex.EncodeToString(b)+" lantern")
}

// signIn signs email in with a password, through the second step with the
// authenticator app (secret) or a recovery code when the account has one.
func (env *secTEnv) signIn(t *testing.T, email, pw, totpSecret, recovery string) string {
	t.Helper()
	r := env.do(t, "", "POST", "/api/v1/auth/password", map[string]string{"email": email, "password": pw}, http.StatusOK)
	if tok, ok := r["token"].(string); ok {
		return env.s.add("session token", tok)
	}
	ch := env.s.add("MFA challenge", r["challenge"].(string))
	in := map[string]string{"challenge": ch}
	if recovery != "" {
		in["recovery_code"] = recovery
	} else {
		env.clock.Advance(30 * time.Second) // a new time step: codes are single use
		in["code"] = env.s.addCode("totp", totpAt(t, totpSecret, env.clock.Now()))
	}
	return env.s.add("session token", env.do(t, "", "POST", "/api/v1/auth/mfa", in, http.StatusOK)["token"].(string))
}

func TestNoSecretsAtRestOrInLogs(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			env := &secTEnv{clock: &testClock{}, log: &secTLog{}}
			st, raw, dir := testkit.OpenRaw(t, engine)
			env.raw, env.dir = raw, dir
			env.srv = testkit.NewServerWithConfig(t, st, testkit.ServerConfig{
				Logger:  slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
				Service: func(_ string, cfg *service.Config) { cfg.Now = env.clock.Now },
			})
			const alice, bob = "alice@sec.example", "bob@sec.example"

			// Sign-up, and the address verified by its link.
			p1 := env.passphrase(t, "sign-up password")
			r := env.do(t, "", "POST", "/api/v1/signup", map[string]string{"email": alice, "password": p1, "organization": "Sealed Org"}, http.StatusCreated)
			env.s.add("session token", r["token"].(string))
			org := r["organization"].(map[string]any)["id"].(string)
			user := r["user"].(map[string]any)["id"].(string)
			verify := env.s.add("verification link token", mailedToken(t, mailed(t, env.srv, alice, "verify-address"), "srl_"))
			env.do(t, "", "POST", "/api/v1/auth/email/verify-address", map[string]string{"token": verify}, http.StatusNoContent)

			// Password, e-mailed code, e-mailed link.
			tok := env.signIn(t, alice, p1, "", "")
			env.do(t, "", "POST", "/api/v1/auth/email/start", map[string]string{"email": alice}, http.StatusAccepted)
			m := mailed(t, env.srv, alice, "signin-code")
			env.s.add("sign-in link token", mailedToken(t, m, "srl_"))
			r = env.do(t, "", "POST", "/api/v1/auth/email/verify",
				map[string]string{"email": alice, "code": env.s.addCode("e-mailed code", mailedCode(t, m))}, http.StatusOK)
			env.s.add("session token", r["token"].(string))
			env.do(t, "", "POST", "/api/v1/auth/email/start", map[string]string{"email": alice}, http.StatusAccepted)
			m = mailed(t, env.srv, alice, "signin-code")
			env.s.addCode("e-mailed code", mailedCode(t, m))
			r = env.do(t, "", "POST", "/api/v1/auth/email/link",
				map[string]string{"token": env.s.add("sign-in link token", mailedToken(t, m, "srl_"))}, http.StatusOK)
			env.s.add("session token", r["token"].(string))

			// An authenticator app, its recovery codes, and MFA sign-ins.
			r = env.do(t, tok, "POST", "/api/v1/me/mfa/totp", map[string]string{"name": "Phone"}, http.StatusCreated)
			secret := env.s.add("TOTP secret", r["secret"].(string))
			rawSecret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
			if err != nil {
				t.Fatal(err)
			}
			env.s.add("TOTP secret (bytes)", string(rawSecret))
			r = env.do(t, tok, "POST", "/api/v1/me/mfa/totp/"+r["id"].(string)+"/confirm",
				map[string]string{"code": env.s.addCode("totp", totpAt(t, secret, env.clock.Now()))}, http.StatusOK)
			env.s.add("session token", r["token"].(string))
			var recovery []string
			for _, c := range r["recovery_codes"].([]any) {
				code := c.(string)
				recovery = append(recovery, env.s.add("recovery code", code))
				env.s.add("recovery code (bare)", strings.ReplaceAll(code, "-", ""))
			}
			env.signIn(t, alice, p1, secret, "")
			env.signIn(t, alice, p1, "", recovery[0])

			// Password reset (by link), then change (signed in).
			env.do(t, "", "POST", "/api/v1/auth/password/reset", map[string]string{"email": alice}, http.StatusAccepted)
			reset := env.s.add("reset link token", mailedToken(t, mailed(t, env.srv, alice, "password-reset"), "srp_"))
			p2 := env.passphrase(t, "reset password")
			env.do(t, "", "POST", "/api/v1/auth/password/reset/confirm", map[string]string{"token": reset, "password": p2}, http.StatusNoContent)
			tok = env.signIn(t, alice, p2, secret, "")
			tok = env.s.add("session token", env.do(t, tok, "POST", "/api/v1/auth/step-up", map[string]string{"password": p2}, http.StatusOK)["token"].(string))
			p3 := env.passphrase(t, "changed password")
			env.do(t, tok, "PUT", "/api/v1/me/password", map[string]string{"current_password": p2, "new_password": p3}, http.StatusNoContent)

			// API keys: made, used, rotated, used.
			orgPath := "/api/v1/orgs/" + org
			r = env.do(t, tok, "POST", orgPath+"/api-keys", map[string]string{"name": "ci", "role": "editor"}, http.StatusCreated)
			k1 := env.s.add("API key", r["secret"].(string))
			env.do(t, k1, "GET", orgPath+"/collections", nil, http.StatusOK)
			r = env.do(t, tok, "POST", orgPath+"/api-keys/"+r["key"].(map[string]any)["id"].(string)+"/rotate", map[string]int{"overlap_seconds": 60}, http.StatusCreated)
			k2 := env.s.add("API key", r["secret"].(string))
			env.do(t, k2, "GET", orgPath+"/collections", nil, http.StatusOK)

			// An invitation, accepted by a new person.
			env.do(t, tok, "POST", orgPath+"/invitations", map[string]string{"email": bob, "role": "viewer"}, http.StatusCreated)
			inv := env.s.add("invitation token", mailedToken(t, mailed(t, env.srv, bob, "invitation"), "sri_"))
			p4 := env.passphrase(t, "invited password")
			r = env.do(t, "", "POST", "/api/v1/invitations/accept", map[string]string{"token": inv, "password": p4}, http.StatusCreated)
			env.s.add("session token", r["token"].(string))
			// Failed attempts: what the caller presented is a secret too (a
			// mistyped password is nearly the real one).
			env.do(t, "", "POST", "/api/v1/auth/password", map[string]string{"email": alice, "password": env.passphrase(t, "mistyped password")}, http.StatusUnauthorized)
			env.do(t, "", "POST", "/api/v1/auth/password", map[string]string{"email": "nobody@sec.example", "password": env.passphrase(t, "guessed password")}, http.StatusUnauthorized)
			for _, bearer := range []string{k1[:len(k1)-1] + "x", "srs_" + k1[4:], "srk_" + strings.Repeat("Z", 40) + "secretgarbage"} {
				env.do(t, env.s.add("presented bearer", bearer), "GET", orgPath+"/collections", nil, http.StatusUnauthorized)
			}
			ch := env.do(t, "", "POST", "/api/v1/auth/password", map[string]string{"email": alice, "password": p3}, http.StatusOK)["challenge"].(string)
			env.s.add("MFA challenge", ch)
			env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch, "recovery_code": env.s.add("guessed recovery code", "zzzz-zzzz-zzzz")}, http.StatusUnauthorized)
			env.do(t, "", "POST", "/api/v1/auth/password/reset/confirm", map[string]string{"token": "srp_" + inv[4:], "password": env.passphrase(t, "reset without a link")}, http.StatusUnauthorized)
			env.srv.Service.WaitMail()

			// What is stored is the hash (or, for the TOTP secret, the sealed
			// form), and it is there.
			digest := func(v string) []byte { h := sha256.Sum256([]byte(v)); return h[:] }
			for _, c := range []struct {
				what, query string
				arg         any
				want        int
			}{
				{"the session's token hash", "SELECT count(*) FROM sessions WHERE token_hash = $1", digest(tok), 1},
				{"the first API key's hash", "SELECT count(*) FROM api_keys WHERE secret_hash = $1", digest(k1), 1},
				{"the rotated API key's hash", "SELECT count(*) FROM api_keys WHERE secret_hash = $1", digest(k2), 1},
				{"the invitation token's hash", "SELECT count(*) FROM invitations WHERE token_hash = $1", digest(inv), 1},
				{"the unused recovery codes' hashes", "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND length(code_hash) = 32", user, 9},
				{"the sealed TOTP secret", "SELECT count(*) FROM mfa_factors WHERE user_id = $1 AND kind = 'totp' AND length(secret) > 40", user, 1},
				{"argon2id password hashes", "SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$%' AND email LIKE $1", "%@sec.example", 2},
			} {
				var n int
				if err := raw.QueryRow(c.query, c.arg).Scan(&n); err != nil {
					t.Fatalf("%s: %v", c.what, err)
				}
				if n != c.want {
					t.Errorf("%s: %d rows, want %d", c.what, n, c.want)
				}
			}

			if found := env.s.find(env.atRest(t)); len(found) > 0 {
				t.Errorf("in the clear in the database: %s", strings.Join(found, ", "))
			}
			logs := env.log.Bytes()
			if !bytes.Contains(logs, []byte("e-mail placed in the development outbox")) {
				t.Fatalf("the logs were not captured:\n%s", logs)
			}
			if found := env.s.find(logs); len(found) > 0 {
				t.Errorf("in the clear in the logs: %s", strings.Join(found, ", "))
			}
			for _, personal := range []string{alice, bob} {
				if bytes.Contains(logs, []byte(personal)) {
					t.Errorf("the logs hold the address %s", personal)
				}
			}
			if t.Failed() {
				t.Logf("logs:\n%s", logs)
			}
		})
	}
}

// atRest is everything stored: every file of the SQLite data folder (database,
// WAL, keyring), or the text of every row of every PostgreSQL table.
func (env *secTEnv) atRest(t *testing.T) []byte {
	t.Helper()
	var queries []string
	if env.dir == "" {
		rows, err := env.raw.Query(`SELECT schemaname, tablename FROM pg_tables
			WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var schema, table string
			if err := rows.Scan(&schema, &table); err != nil {
				t.Fatal(err)
			}
			queries = append(queries, fmt.Sprintf(`SELECT t::text FROM %q.%q t`, schema, table))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if len(queries) < 20 {
			t.Fatalf("only %d tables found", len(queries))
		}
	}
	b := testkit.AtRest(t, env.raw, env.dir, queries...)
	if len(b) == 0 {
		t.Fatal("nothing scanned")
	}
	return b
}
