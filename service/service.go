// Package service is where Strongroom decides access and does the work: each
// method takes the principal from the context, asks access.Decide, runs one
// tenant-bound store transaction, and appends the audit event for the work in that
// same transaction. HTTP handlers call it; it never sees HTTP.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/authn"
	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/mail"
	"strongroom.dev/strongroom/oauthclient"
	"strongroom.dev/strongroom/oidcauth"
	"strongroom.dev/strongroom/store"
)

// Config configures a Service.
type Config struct {
	Store       *store.Store
	Keyring     *keyring.Keyring
	Hasher      *authn.Hasher
	Policy      authn.Policy
	SessionTTL  time.Duration // absolute session lifetime; default 12h
	SessionIdle time.Duration // idle session lifetime; default 1h
	Logger      *slog.Logger
	Now         func() time.Time // nil: time.Now
	Rand        io.Reader        // nil: crypto/rand
	// Connections talks to the third-party OAuth 2.0 providers organizations may
	// connect (DAT-04); nil: none are configured.
	Connections *oauthclient.Client
	// Mailer delivers e-mail (codes, links, notices); nil drops messages with a
	// warning.
	Mailer mail.Sender
	// Outbox is the development outbox when Mailer is one (embedded mode), so
	// operators can list it.
	Outbox *mail.Outbox
	// BaseURL is the console's public URL, for links in e-mail.
	BaseURL string
	// Issuer names the service in authenticator apps; default "Strongroom".
	Issuer string
	// Passkeys runs WebAuthn ceremonies; nil disables security keys and passkeys.
	Passkeys *passkey.Passkeys
	// OIDC are the OpenID Connect sign-in providers; nil: none.
	OIDC *oidcauth.Registry
	// UnauditedReads turns off the audit events of record reads. It exists
	// only so that benchmarks can measure what auditing reads costs; the
	// server never sets it (security invariant 4).
	UnauditedReads bool
	// Limits are the rate limits and lockout; zero fields take defaults.
	Limits Limits
	// Observer receives sign-in results, rate-limit refusals and background
	// job runs (metrics); nil: none.
	Observer Observer
	// BackupLocation names where the server takes scheduled backups
	// (backup.Location.String: no credentials); "" when it takes none. The
	// backups and drills themselves are read from the store's records
	// (LIF-05, LIF-06).
	BackupLocation string
	// Lifecycle configures retention and data-subject requests (LIF-01, LIF-02).
	Lifecycle LifecycleConfig
	// Trust configures incidents, disclosure and subprocessors.
	Trust TrustConfig
	// Status configures the public status page's probes (INC-04).
	Status StatusConfig
	// TrustPage tells the public trust page how the server was started.
	TrustPage TrustPageConfig
	// Reviews configures access review campaigns (IAM-15).
	Reviews ReviewConfig
	// Files configures files attached to records (docs/files.md).
	Files FilesConfig
}

// Service is Strongroom's application service.
type Service struct {
	store          *store.Store
	keys           *keyring.Keyring
	hasher         *authn.Hasher
	policy         authn.Policy
	sessionTTL     time.Duration
	sessionIdle    time.Duration
	log            *slog.Logger
	guards         *guards
	hashes         *hashScheduler
	mailer         mail.Sender
	outbox         *mail.Outbox
	mailWG         sync.WaitGroup
	baseURL        string
	issuer         string
	passkeys       *passkey.Passkeys
	oidc           *oidcauth.Registry
	unauditedReads bool
	now            func() time.Time
	rand           io.Reader
	conns          *oauthclient.Client
	connLocks      keyedLocks // one refresh or disconnect at a time per connection
	obs            Observer
	lifecycle      LifecycleConfig

	// Caches for the per-request lookups. They are exact within one process
	// (invalidated on every write) and are used only on the embedded engine, which
	// has one process; PostgreSQL deployments may run several replicas.
	sessions *cache[string, *strongroom.Session]
	members  *cache[memberKey, *strongroom.Membership]
	colls    *cache[collKey, *collection]
	schemas  *cache[strongroom.CollectionID, *compiledSchema]
	settings *cache[strongroom.TenantID, *strongroom.OrgSettings]
	apiKeys  *cache[string, *strongroom.APIKey]

	backupLocation string
	backupNow      atomic.Pointer[BackupStarter] // OnBackupNow; nil: none
	// terminations: an organization's termination (nil: none), read on every
	// request to it.
	terminations *cache[strongroom.TenantID, *store.Termination]
	// afterShred runs after an organization's keys are destroyed and its
	// data purged (OnShred); nil: nothing.
	afterShred atomic.Pointer[func(context.Context, strongroom.TenantID) error]
	trust      *trustState     // incidents, disclosure, subprocessors (trust.go)
	status     *statusState    // the status page's probes (status.go)
	trustPage  *trustPageState // the public trust page (trustpage.go)

	// purgeBatching tunes termination purges (SetPurgeBatching); nil: defaults.
	purgeBatching atomic.Pointer[PurgeBatching]
	reviews       ReviewConfig // access reviews (reviews.go)
	files         FilesConfig  // files attached to records (files.go)
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Hasher == nil || cfg.Keyring == nil {
		return nil, errors.New("service: store, keyring and hasher are required")
	}
	s := &Service{
		store:          cfg.Store,
		keys:           cfg.Keyring,
		hasher:         cfg.Hasher,
		policy:         cfg.Policy,
		sessionTTL:     cfg.SessionTTL,
		sessionIdle:    cfg.SessionIdle,
		mailer:         cfg.Mailer,
		outbox:         cfg.Outbox,
		baseURL:        cfg.BaseURL,
		issuer:         cfg.Issuer,
		passkeys:       cfg.Passkeys,
		oidc:           cfg.OIDC,
		unauditedReads: cfg.UnauditedReads,
		log:            cfg.Logger,
		now:            cfg.Now,
		rand:           cfg.Rand,
		conns:          cfg.Connections,
		backupLocation: cfg.BackupLocation,
	}
	if s.policy.MinLength == 0 {
		s.policy = authn.DefaultPolicy
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = 12 * time.Hour
	}
	if s.sessionIdle <= 0 {
		s.sessionIdle = time.Hour
	}
	if s.issuer == "" {
		s.issuer = "Strongroom"
	}
	if s.baseURL == "" {
		s.baseURL = "http://localhost:8080"
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	g, err := newGuards(cfg.Limits, func() time.Time { return s.now() })
	if err != nil {
		return nil, err
	}
	s.lifecycle = cfg.Lifecycle.withDefaults()
	s.obs = cfg.Observer
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	g.obs = s.obs
	s.guards = g
	if s.trust, err = newTrustState(cfg.Trust, func() time.Time { return s.now() }); err != nil {
		return nil, err
	}
	if s.status, err = newStatusState(cfg.Status); err != nil {
		return nil, err
	}
	s.trustPage = &trustPageState{cfg: cfg.TrustPage}
	s.files = cfg.Files.withDefaults()
	if s.reviews, err = cfg.Reviews.withDefaults(); err != nil {
		return nil, err
	}
	s.hashes = newHashScheduler(max(2, runtime.GOMAXPROCS(0)))
	enabled := cfg.Store.Engine() == store.SQLite
	s.sessions = newCache[string, *strongroom.Session](enabled, 10000)
	s.members = newCache[memberKey, *strongroom.Membership](enabled, 10000)
	s.colls = newCache[collKey, *collection](enabled, 10000)
	s.schemas = newCache[strongroom.CollectionID, *compiledSchema](true, 10000) // collections are immutable
	s.settings = newCache[strongroom.TenantID, *strongroom.OrgSettings](enabled, 10000)
	s.apiKeys = newCache[string, *strongroom.APIKey](enabled, 10000)
	s.terminations = newCache[strongroom.TenantID, *store.Termination](enabled, 10000)
	return s, nil
}

// Ready reports whether the store answers (for /readyz).
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// newID returns a new UUIDv7: time-ordered, so record IDs sort by creation.
func (s *Service) newID() (string, error) {
	var id uuid.UUID
	var err error
	if s.rand != nil {
		id, err = uuid.NewV7FromReader(s.rand)
	} else {
		id, err = uuid.NewV7()
	}
	if err != nil {
		return "", fmt.Errorf("generating id: %w", err)
	}
	return id.String(), nil
}

// ValidID reports whether s is a canonical UUID, as all Strongroom IDs are. Path
// parameters are checked with it before any lookup.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// Authorize is the access decision for a principal, permission and resource. A
// refusal is audited as denied and returned as the matching error: ENOTFOUND for
// anything outside the principal's reach (exactly like a missing resource),
// EFORBIDDEN for a permission the role lacks, EUNAUTHORIZED without credentials.
func (s *Service) Authorize(ctx context.Context, perm access.Permission, res access.Resource) error {
	p := strongroom.PrincipalFrom(ctx)
	d := access.Decide(p, perm, res)
	if d == access.Allow {
		return nil
	}
	reason := map[access.Decision]string{
		access.Unauthenticated: "unauthenticated",
		access.NotFound:        "outside the principal's organizations or clients",
		access.Forbidden:       "role lacks " + string(perm),
	}[d]
	s.auditDenied(ctx, res.Tenant, string(perm), reason)
	switch d {
	case access.Unauthenticated:
		return strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	case access.Forbidden:
		return strongroom.Errorf(strongroom.EFORBIDDEN, "your role does not allow this")
	default:
		return strongroom.Errorf(strongroom.ENOTFOUND, "not found")
	}
}

// auditDenied records a refused request in the target organization's log when it
// exists (its Admins see the probe), otherwise in the platform log. Unauthenticated
// requests are not audited here: they are counted by rate limiting and metrics.
func (s *Service) auditDenied(ctx context.Context, tenant strongroom.TenantID, perm, reason string) {
	p := strongroom.PrincipalFrom(ctx)
	if !p.Authenticated() {
		return
	}
	meta, _ := json.Marshal(map[string]string{"permission": perm})
	write := func(t strongroom.TenantID) error {
		return s.store.Write(ctx, store.TenantScope(t), func(tx *store.Tx) error {
			if t != strongroom.PlatformTenant {
				if _, err := tx.Organization(ctx); err != nil {
					return err
				}
			}
			e := strongroom.NewAuditEvent(p, t, "access.denied", "organization", string(tenant), strongroom.ResultDenied)
			e.Reason, e.Metadata = reason, meta
			return tx.AppendAudit(ctx, &e)
		})
	}
	target := strongroom.PlatformTenant
	if ValidID(string(tenant)) {
		target = tenant
	}
	err := write(target)
	if target != strongroom.PlatformTenant && strongroom.ErrorCode(err) == strongroom.ENOTFOUND {
		err = write(strongroom.PlatformTenant) // no such organization
	}
	if err != nil {
		s.log.Error("auditing denied request", "err", err, "request_id", p.RequestID)
	}
}

// audit appends an event for the principal in ctx to tx's tenant.
func audit(ctx context.Context, tx *store.Tx, action, targetType, targetID string, meta any) error {
	e := strongroom.NewAuditEvent(strongroom.PrincipalFrom(ctx), tx.Tenant(), action, targetType, targetID, strongroom.ResultSuccess)
	if meta != nil {
		b, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("encoding audit metadata: %w", err)
		}
		e.Metadata = b
	}
	return tx.AppendAudit(ctx, &e)
}

// clock is the current time in UTC at the microsecond precision both engines
// store, so that what a write returns equals what a later read returns.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// AuditPlatform appends an event for the principal in ctx to the platform log
// (operator and system actions that concern no single organization).
func (s *Service) AuditPlatform(ctx context.Context, action, targetType, targetID string, meta any) error {
	return s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		return audit(ctx, tx, action, targetType, targetID, meta)
	})
}
