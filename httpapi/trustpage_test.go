package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/audit"
	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/backup"
	"strongroom.dev/strongroom/certs"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
	"strongroom.dev/strongroom/trust"
)

// trustEnv is a server whose trust page has evidence to read: a backup
// location, a keyring on the test clock, an operator signed in with a second
// factor.
type trustEnv struct {
	*mfaTEnv
	loc  *backup.Location
	keys *keyring.Keyring
	op   string
	// member is the Admin of an organization signed up by a trace case.
	member testkit.Account
}

// trustBase is the trust page configuration the trace cases start from.
func trustBase(env *trustEnv) func(u string, cfg *service.Config) {
	return func(u string, cfg *service.Config) {
		cfg.Now = env.clock.Now
		cfg.BackupLocation = env.loc.String()
		cfg.TrustPage = service.TrustPageConfig{TLSMode: service.TLSModeOff, MasterKeySource: "key file"}
	}
}

func newTrustEnv(t *testing.T, e testkit.Engine) *trustEnv {
	t.Helper()
	env := &trustEnv{mfaTEnv: &mfaTEnv{st: e.Open(t), clock: &testClock{}}}
	env.loc = testkit.OpenBackupLocation(t)
	kek, err := keyring.NewLocalKEK(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	env.keys = keyring.New(kek, nil, env.st, keyring.Options{Now: env.clock.Now, CacheTTL: time.Nanosecond})
	env.srv = testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{Keyring: env.keys, Service: trustBase(env)})
	env.op = trustOperator(t, env.mfaTEnv, "otto@ops.example")
	return env
}

// variant starts a second server on the same store and keyring (like another
// replica) whose configuration differs by change.
func (env *trustEnv) variant(t *testing.T, change func(u string, cfg *service.Config)) *testkit.Server {
	t.Helper()
	base := trustBase(env)
	return testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{Keyring: env.keys, Service: func(u string, cfg *service.Config) {
		base(u, cfg)
		change(u, cfg)
	}})
}

// trustPageOf reads /trust.json from srv.
func trustPageOf(t *testing.T, srv *testkit.Server) trust.Page {
	t.Helper()
	r := testkit.MustStatus(t, call(t, srv, "", "GET", "/trust.json", nil), http.StatusOK)
	var p trust.Page
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("trust.json: %v\n%s", err, r.Body)
	}
	return p
}

// freshClaims moves the clock past the page cache and reads the claims.
func (env *trustEnv) freshClaims(t *testing.T, srv *testkit.Server) map[string]trust.Claim {
	t.Helper()
	env.clock.Advance(service.TrustPageCacheFor + time.Second)
	out := map[string]trust.Claim{}
	for _, c := range trustPageOf(t, srv).Claims {
		out[c.ID] = c
	}
	return out
}

func claimState(c trust.Claim) string {
	v, _ := json.Marshal(c.Value)
	return c.Answer + " | " + string(v)
}

// traceCase changes one setting or produces one piece of evidence, and names
// the claims that must change with it.
type traceCase struct {
	name   string
	claims []string
	// setting: a server configured so differs from the base server.
	setting func(u string, cfg *service.Config)
	// evidence: produced on the base server between two readings.
	evidence func(t *testing.T, env *trustEnv)
	// fixed: the claim states a rule of the code, not a setting; the case
	// checks its value.
	fixed func(t *testing.T, c trust.Claim)
}

// trustCertManager is a certificate source for the trust page: with
// opts.ACMEDomains an ACME source whose cache is empty (no CA is contacted
// before a handshake), else certificate files of a self-signed certificate
// expiring in days days.
func trustCertManager(opts certs.Options, days int) *certs.Manager {
	dir, err := os.MkdirTemp("", "trustcert")
	if err != nil {
		panic(err)
	}
	if len(opts.ACMEDomains) > 0 {
		opts.ACMECacheDir = filepath.Join(dir, "acme")
	} else {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		now := time.Now()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trust.strongroom.test"},
			DNSNames: []string{"trust.strongroom.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Duration(days) * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		kd, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			panic(err)
		}
		opts.CertFile, opts.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := os.WriteFile(opts.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			panic(err)
		}
		if err := os.WriteFile(opts.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
			panic(err)
		}
	}
	m, err := certs.New(opts)
	if err != nil {
		panic(err)
	}
	return m
}

// TestTrustPageTracesEveryClaim (issue 8 item 6): for every claim on /trust
// there is a case that changes the setting it names or produces the evidence
// it reads, and the claim changes (its source staying the same). A claim added
// to the page without a case here fails the test.
func TestTrustPageTracesEveryClaim(t *testing.T) {
	signer, _ := testkit.SecurityTxtSigner(t)
	ctx := context.Background()
	cases := []traceCase{
		{name: "TLS terminated with certificate files", claims: []string{"tls.mode", "tls.min_version", "tls.cipher_suites"},
			setting: func(_ string, cfg *service.Config) { cfg.TrustPage.TLSMode = service.TLSModeFiles }},
		{name: "TLS terminated by a trusted proxy", claims: []string{"tls.mode", "tls.min_version", "tls.cipher_suites"},
			setting: func(_ string, cfg *service.Config) { cfg.TrustPage.TLSMode = service.TLSModeProxy }},
		{name: "master key from a KMS", claims: []string{"at_rest.master_key_source"},
			setting: func(_ string, cfg *service.Config) { cfg.TrustPage.MasterKeySource = "KMS (hashivault)" }},
		{name: "passkeys configured", claims: []string{"mfa.methods"},
			setting: func(_ string, cfg *service.Config) {
				pk, err := passkey.New(passkey.Config{RPID: "localhost", RPDisplayName: "Strongroom", Origins: []string{"http://localhost"}})
				if err != nil {
					panic(err) // a fixed, valid configuration
				}
				cfg.Passkeys = pk
			}},
		{name: "audit retention minimum", claims: []string{"retention.audit_min_days"},
			setting: func(_ string, cfg *service.Config) { cfg.Lifecycle.AuditRetentionMinDays = 730 }},
		{name: "data-subject request deadline", claims: []string{"retention.dsr_deadline_days"},
			setting: func(_ string, cfg *service.Config) { cfg.Lifecycle.DSRDeadline = 14 * 24 * time.Hour }},
		{name: "termination window", claims: []string{"retention.termination_window_days"},
			setting: func(_ string, cfg *service.Config) { cfg.Lifecycle.TerminationWindow = 60 * 24 * time.Hour }},
		{name: "no security contact", claims: []string{"disclosure.security_txt"},
			setting: func(_ string, cfg *service.Config) { cfg.Trust.SecurityTxt = nil }},
		{name: "security.txt signed", claims: []string{"disclosure.security_txt"},
			setting: func(_ string, cfg *service.Config) {
				st := *cfg.Trust.SecurityTxt
				st.Signer = signer
				cfg.Trust.SecurityTxt = &st
			}},
		{name: "backups not configured", claims: []string{"backup.last", "backup.last_drill"},
			setting: func(_ string, cfg *service.Config) { cfg.BackupLocation = "" }},
		{name: "operators need a second factor", claims: []string{"mfa.operator_enforced"},
			fixed: func(t *testing.T, c trust.Claim) {
				if c.Value != true || !strings.Contains(c.Source, "OperatorMinAAL") || service.OperatorMinAAL < 2 {
					t.Errorf("operator MFA claim %+v", c)
				}
			}},
		{name: "records are sealed with AES-256-GCM", claims: []string{"at_rest.algorithm"},
			fixed: func(t *testing.T, c trust.Claim) {
				if c.Value != "AES-256-GCM" || !strings.Contains(c.Source, "envelope") {
					t.Errorf("algorithm claim %+v", c)
				}
			}},
		{name: "an incident opened and closed with its report", claims: []string{"incidents.last_12_months"},
			evidence: func(t *testing.T, env *trustEnv) {
				const base = "/api/v1/operator/incidents"
				d := testkit.MustStatus(t, env.do(t, env.op, "POST", base, map[string]any{"title": "API latency", "kind": "availability",
					"severity": "medium"}), http.StatusCreated).JSON(t)
				id := d["incident"].(map[string]any)["id"].(string)
				for _, ph := range []string{"contain", "eradicate", "recover", "review"} {
					testkit.MustStatus(t, env.do(t, env.op, "POST", base+"/"+id+"/updates", map[string]string{"phase": ph, "note": ph}), http.StatusOK)
				}
				testkit.MustStatus(t, env.do(t, env.op, "POST", base+"/"+id+"/report", map[string]string{"report": "A slow query; index added."}), http.StatusNoContent)
			}},
		{name: "a vulnerability report acknowledged", claims: []string{"disclosure.time_to_acknowledge"},
			evidence: func(t *testing.T, env *trustEnv) {
				r := testkit.MustStatus(t, env.do(t, "", "POST", "/api/v1/disclosure/reports", map[string]any{"title": "Open redirect", "description": "Steps…"}), http.StatusCreated).JSON(t)
				env.clock.Advance(30 * time.Minute)
				testkit.MustStatus(t, env.do(t, env.op, "PATCH", "/api/v1/operator/disclosure/reports/"+r["id"].(string), map[string]string{"status": "acknowledged"}), http.StatusOK)
			}},
		{name: "a subprocessor announced", claims: []string{"subprocessors.upcoming"},
			evidence: func(t *testing.T, env *trustEnv) {
				testkit.MustStatus(t, env.do(t, env.op, "POST", "/api/v1/operator/subprocessors", map[string]any{"name": "Mailer Ltd", "purpose": "E-mail delivery",
					"location": "EU (Ireland)", "certifications": []string{"ISO 27001"}, "data_categories": []string{"e-mail addresses"},
					"effective_at": env.clock.Now().Add(31 * 24 * time.Hour)}), http.StatusCreated)
			}},
		{name: "a backup taken", claims: []string{"backup.last"},
			evidence: func(t *testing.T, env *trustEnv) {
				id, _ := age.GenerateX25519Identity()
				at := env.clock.Now()
				// A failed attempt is not a backup: the claim must not move for it
				// (the trace checks that only the claims named move).
				if err := backup.RecordBackup(ctx, env.st, env.loc, at.Add(-time.Minute), at.Add(-time.Minute), nil, errors.New("disk full")); err != nil {
					t.Fatal(err)
				}
				idx, err := env.loc.Put(ctx, testkit.OpenSQLiteStore(t), nil, []age.Recipient{id.Recipient()}, at)
				if err != nil {
					t.Fatal(err)
				}
				if err := backup.RecordBackup(ctx, env.st, env.loc, at, at.Add(time.Second), idx, nil); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "a restore drill passed", claims: []string{"backup.last_drill"},
			evidence: func(t *testing.T, env *trustEnv) {
				list, err := env.loc.List(ctx)
				if err != nil || len(list) == 0 {
					t.Fatalf("backups %v, %v", list, err)
				}
				// A failed drill is not a successful one: the claim must not move for it.
				failed := &backup.DrillResult{Backup: list[0].Name, StartedAt: env.clock.Now(), Duration: time.Second, OK: false, Problem: "checksum"}
				ok := &backup.DrillResult{Backup: list[0].Name, StartedAt: env.clock.Now().Add(time.Minute), Duration: time.Second, Tables: 20, Chains: 2, OK: true}
				for _, d := range []*backup.DrillResult{failed, ok} {
					if err := backup.RecordDrill(ctx, env.st, env.loc, d.StartedAt, d, nil); err != nil {
						t.Fatal(err)
					}
				}
			}},
		{name: "the sequencer signed a checkpoint", claims: []string{"audit.last_checkpoint"},
			evidence: func(t *testing.T, env *trustEnv) {
				signer, err := env.keys.SigningKey(ctx)
				if err != nil {
					t.Fatal(err)
				}
				seq, err := audit.NewSequencer(audit.Config{Store: env.st, Signer: signer, Now: env.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				// On PostgreSQL, other tests' open transactions may hold back
				// sealing for a moment: seal and sign until the platform chain
				// has its checkpoint.
				testkit.WaitFor(t, 30*time.Second, func() bool {
					if held, err := seq.Tick(ctx); err != nil || !held {
						t.Fatalf("sequencer tick: held %v, %v", held, err)
					}
					if _, err := seq.Checkpoint(ctx); err != nil {
						t.Fatal(err)
					}
					var cp *store.AuditCheckpoint
					if err := env.st.Read(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
						var err error
						cp, err = tx.LastAuditCheckpoint(ctx)
						return err
					}); err != nil {
						t.Fatal(err)
					}
					return cp != nil
				})
				if err := seq.Stop(ctx); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "the audit chains verified", claims: []string{"audit.last_verified"},
			evidence: func(t *testing.T, env *trustEnv) {
				signer, err := env.keys.SigningKey(ctx)
				if err != nil {
					t.Fatal(err)
				}
				reports, err := audit.Verify(ctx, audit.VerifyConfig{Store: env.st, PublicKey: signer.PublicKey()}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := audit.RecordVerification(ctx, env.st, reports, env.clock.Now()); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "HSTS sent, preloaded", claims: []string{"tls.hsts"},
			setting: func(_ string, cfg *service.Config) {
				cfg.TrustPage.HSTS = &certs.HSTS{MaxAge: 365 * 24 * time.Hour, IncludeSubDomains: true, Preload: true}
			}},
		{name: "a certificate file in use", claims: []string{"tls.certificate"},
			setting: func(_ string, cfg *service.Config) {
				cfg.TrustPage.TLSMode = service.TLSModeFiles
				cfg.TrustPage.Certificates = trustCertManager(certs.Options{}, 40).Describe
			}},
		{name: "ACME certificates", claims: []string{"tls.certificate"},
			setting: func(_ string, cfg *service.Config) {
				cfg.TrustPage.TLSMode = service.TLSModeACME
				cfg.TrustPage.Certificates = trustCertManager(certs.Options{ACMEDomains: []string{"trust.strongroom.test"}}, 0).Describe
			}},
		{name: "an organization signs up", claims: []string{"mfa.orgs_enforcing", "mfa.users_enrolled", "access_review.last_completed"},
			evidence: func(t *testing.T, env *trustEnv) {
				env.member = env.srv.Signup(t, "ada@trust.example", "Trusting Org")
			}},
		{name: "an organization requires MFA", claims: []string{"mfa.orgs_enforcing"},
			evidence: func(t *testing.T, env *trustEnv) {
				if err := env.st.Write(ctx, store.TenantScope(strongroom.TenantID(env.member.OrgID)), func(tx *store.Tx) error {
					return tx.SetOrgSettings(ctx, &strongroom.OrgSettings{MFARequired: true}, env.clock.Now())
				}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "an active user enrols a second factor", claims: []string{"mfa.users_enrolled"},
			evidence: func(t *testing.T, env *trustEnv) {
				f := env.enrolTOTP(t, env.member.Token)
				// The organization requires MFA: the Admin signs in again with it.
				ch := env.challenge(t, env.member.Email, "totp", "recovery")
				env.member.Token = mfaTParseGrant(t, env.do(t, "", "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch, "code": env.totp(t, f.Secret)}), http.StatusOK).Token
			}},
		{name: "an organization completes an access review", claims: []string{"access_review.last_completed"},
			evidence: func(t *testing.T, env *trustEnv) {
				org := "/api/v1/orgs/" + env.member.OrgID + "/access-reviews"
				id := testkit.MustStatus(t, env.do(t, env.member.Token, "POST", org, nil), http.StatusCreated).JSON(t)["id"].(string)
				testkit.MustStatus(t, env.do(t, env.member.Token, "POST", org+"/"+id+"/complete", nil), http.StatusOK)
			}},
		{name: "the operators complete their access review", claims: []string{"access_review.last_completed"},
			evidence: func(t *testing.T, env *trustEnv) {
				const base = "/api/v1/operator/access-reviews"
				id := testkit.MustStatus(t, env.do(t, env.op, "POST", base, nil), http.StatusCreated).JSON(t)["id"].(string)
				testkit.MustStatus(t, env.do(t, env.op, "POST", base+"/"+id+"/complete", nil), http.StatusOK)
			}},
		{name: "a security-policy change published", claims: []string{"policy.last_change"},
			evidence: func(t *testing.T, env *trustEnv) {
				testkit.MustStatus(t, env.do(t, env.op, "POST", "/api/v1/operator/policy-changes", map[string]any{"title": "Security policy v4",
					"summary": "Backups are kept for 35 days.", "url": "https://strongroom.test/policy/v4",
					"effective_at": env.clock.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)}), http.StatusCreated)
			}},
		{name: "ten days pass without a rotation", claims: []string{"at_rest.oldest_key_age_days", "at_rest.newest_key_age_days"},
			evidence: func(t *testing.T, env *trustEnv) { env.clock.Advance(10 * 24 * time.Hour) }},
		{name: "every data key rotated", claims: []string{"at_rest.oldest_key_age_days", "at_rest.newest_key_age_days"},
			evidence: func(t *testing.T, env *trustEnv) {
				tenants, err := env.st.KeyringTenants(ctx)
				if err != nil || len(tenants) == 0 {
					t.Fatalf("keyring tenants %v, %v", tenants, err)
				}
				for _, tn := range tenants {
					if _, err := env.keys.Rotate(ctx, tn); err != nil {
						t.Fatal(err)
					}
				}
			}},
		{name: "the announced subprocessor took effect", claims: []string{"subprocessors.current"},
			evidence: func(t *testing.T, env *trustEnv) { env.clock.Advance(32 * 24 * time.Hour) }},
	}

	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := newTrustEnv(t, e)
			traced := map[string]bool{}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					before := env.freshClaims(t, env.srv)
					var after map[string]trust.Claim
					switch {
					case tc.setting != nil:
						after = env.freshClaims(t, env.variant(t, tc.setting))
					case tc.evidence != nil:
						tc.evidence(t, env)
						after = env.freshClaims(t, env.srv)
					case tc.fixed != nil:
						for _, id := range tc.claims {
							tc.fixed(t, before[id])
							traced[id] = true
						}
						return
					}
					for _, id := range tc.claims {
						b, a := before[id], after[id]
						if b.ID == "" || a.ID == "" {
							t.Fatalf("claim %s missing: before %+v, after %+v", id, b, a)
						}
						if claimState(a) == claimState(b) {
							t.Errorf("claim %s did not change: %s", id, claimState(a))
						}
						if a.Source == "" || a.Source != b.Source && tc.setting == nil {
							t.Errorf("claim %s source %q, was %q", id, a.Source, b.Source)
						}
						traced[id] = true
					}
				})
			}
			for _, c := range trustPageOf(t, env.srv).Claims {
				if !traced[c.ID] {
					t.Errorf("claim %s (%s) has no trace case: add one that changes its source and sees it change", c.ID, c.Source)
				}
			}
			// Values after the whole scenario (spot checks of direction, not only change).
			final := env.freshClaims(t, env.srv)
			if final["at_rest.newest_key_age_days"].Value == nil || final["at_rest.newest_key_age_days"].Value.(float64) != 32 {
				t.Errorf("newest key age %+v, want 32 days (rotated 32 days ago)", final["at_rest.newest_key_age_days"])
			}
			if !strings.Contains(final["subprocessors.current"].Answer, "Mailer Ltd") || final["subprocessors.upcoming"].Answer != "none announced" {
				t.Errorf("subprocessors %+v / %+v", final["subprocessors.current"], final["subprocessors.upcoming"])
			}
			inc := final["incidents.last_12_months"].Value.(map[string]any)
			if inc["incidents"] != float64(1) || inc["reports_published"] != float64(1) || inc["reports_on_time"] != float64(1) {
				t.Errorf("incidents %v", inc)
			}
			if v := final["audit.last_verified"].Value.(map[string]any); v["ok"] != true {
				t.Errorf("last verification %v", v)
			}
			if v := final["mfa.orgs_enforcing"].Value.(map[string]any); v["organizations"] != float64(2) || v["enforcing"] != float64(1) || v["percent"] != float64(50) {
				t.Errorf("organizations enforcing MFA %v", v)
			}
			if v := final["access_review.last_completed"].Value.(map[string]any); v["operators"] == nil || v["organizations_last"] == nil ||
				v["organizations_reviewed"] != float64(1) {
				t.Errorf("access reviews %v", v)
			}
			if v := final["policy.last_change"].Value.(map[string]any); v["title"] != "Security policy v4" || v["url"] != "https://strongroom.test/policy/v4" {
				t.Errorf("policy change %v", v)
			}
		})
	}
}

// TestTrustPageCachedAndQuestionnaire: the page is computed at most once a
// minute (new evidence shows only after that), the answers say so to caches,
// and the CSV questionnaire parses and says what trust.json says, claim by
// claim, in order.
func TestTrustPageCachedAndQuestionnaire(t *testing.T) {
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := newTrustEnv(t, e)
			// A subprocessor whose name a spreadsheet would run as a formula.
			evil := "=HYPERLINK(\"http://evil.example\",\"x\")"
			first := trustPageOf(t, env.srv)
			testkit.MustStatus(t, env.do(t, env.op, "POST", "/api/v1/operator/subprocessors", map[string]any{"name": evil, "purpose": "Hosting, \"EU\"",
				"location": "EU", "certifications": []string{}, "data_categories": []string{"everything"},
				"effective_at": env.clock.Now().Add(31 * 24 * time.Hour)}), http.StatusCreated)
			again := trustPageOf(t, env.srv)
			if !again.GeneratedAt.Equal(first.GeneratedAt) || again.Claim("subprocessors.upcoming").Answer != first.Claim("subprocessors.upcoming").Answer {
				t.Errorf("within a minute the page was computed again: %v then %v", first.GeneratedAt, again.GeneratedAt)
			}
			env.clock.Advance(service.TrustPageCacheFor)
			p := trustPageOf(t, env.srv)
			if !strings.Contains(p.Claim("subprocessors.upcoming").Answer, evil) {
				t.Fatalf("after a minute the new evidence shows: %+v", p.Claim("subprocessors.upcoming"))
			}
			for _, path := range []string{"/trust.json", "/trust/questionnaire.csv", "/trust"} {
				r := testkit.MustStatus(t, call(t, env.srv, "", "GET", path, nil), http.StatusOK)
				if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=60" {
					t.Errorf("%s Cache-Control %q", path, cc)
				}
				if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("%s sets cookies on a cacheable answer: %q", path, sc)
				}
			}

			r := testkit.MustStatus(t, call(t, env.srv, "", "GET", "/trust/questionnaire.csv", nil), http.StatusOK)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Errorf("Content-Type %q", ct)
			}
			rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
			if err != nil {
				t.Fatalf("questionnaire does not parse: %v", err)
			}
			if !slices.Equal(rows[0], trust.QuestionnaireHeader) || len(rows) != len(p.Claims)+1 {
				t.Fatalf("questionnaire: header %v, %d rows for %d claims", rows[0], len(rows)-1, len(p.Claims))
			}
			for i, c := range p.Claims {
				want := []string{c.ID, c.Question, trust.SafeCell(c.Answer), c.Source}
				if !slices.Equal(rows[i+1], want) {
					t.Errorf("row %d = %q, want %q", i+1, rows[i+1], want)
				}
			}
			for _, row := range rows {
				for _, cell := range row {
					if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
						t.Errorf("cell %q would run as a formula", cell)
					}
				}
			}
		})
	}
}

// TestTrustPageBadInput: the trust resources take no query parameters and
// only GET (and HEAD); everything else is a clear error.
func TestTrustPageBadInput(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	for _, path := range []string{"/trust", "/trust.json", "/trust/questionnaire.csv"} {
		for _, q := range []string{"?x=1", "?", "?%zz", "?claims=" + strings.Repeat("a", 4000), "?id=1%27%20OR%201=1"} {
			r := call(t, srv, "", "GET", path+q, nil)
			if q == "?" { // an empty query is no query
				testkit.MustStatus(t, r, http.StatusOK)
				continue
			}
			if r.Status != http.StatusBadRequest {
				t.Errorf("GET %s%s: %d %s", path, q, r.Status, r.Body)
			}
		}
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			if r := call(t, srv, "", m, path, map[string]string{"a": "b"}); r.Status != http.StatusMethodNotAllowed && r.Status != http.StatusForbidden {
				t.Errorf("%s %s: %d", m, path, r.Status)
			}
		}
	}
}

// TestTrustPageNewestVerification: "last verified" is the newest recorded
// run even when more than a page (1000) of runs lie in the window, and a
// failed run says so.
func TestTrustPageNewestVerification(t *testing.T) {
	ctx := context.Background()
	for _, e := range testkit.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := &mfaTEnv{st: e.Open(t), clock: &testClock{}}
			env.srv = testkit.NewServerWithConfig(t, env.st, testkit.ServerConfig{Service: func(_ string, cfg *service.Config) { cfg.Now = env.clock.Now }})
			start := env.clock.Now().Add(-time.Hour)
			for i := range 1001 {
				var reports []audit.ChainReport
				if i == 1000 {
					reports = []audit.ChainReport{{}}
					reports[0].Dropped = 1 // a chain with problems
				}
				if err := audit.RecordVerification(ctx, env.st, reports, start.Add(time.Duration(i)*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			p := trustPageOf(t, env.srv)
			c := p.Claim("audit.last_verified")
			if c == nil {
				t.Fatal("no audit.last_verified claim")
			}
			v, _ := c.Value.(map[string]any)
			if v["ok"] != false || !strings.HasSuffix(c.Answer, ", found problems") {
				t.Errorf("last verification %+v, want the newest (failed) run", c)
			}
		})
	}
}
