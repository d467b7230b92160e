package service

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/authn/passkey"
	"strongroom.dev/strongroom/authn/totp"
	"strongroom.dev/strongroom/envelope"
	"strongroom.dev/strongroom/keyring"
	"strongroom.dev/strongroom/store"
)

// MFA (IAM-06, IAM-07): TOTP authenticators, WebAuthn credentials (security
// keys and passkeys) and ten single-use recovery codes. Secrets are sealed with
// the platform's data key (TOTP) or hold only public keys (WebAuthn); recovery
// codes are stored as keyed hashes. Changing MFA needs a recent sign-in.

// RecoveryCodeCount is how many recovery codes a user holds.
const RecoveryCodeCount = 10

// factorAD binds a factor's sealed secret to its row.
func factorAD(f *strongroom.MFAFactor) envelope.AD {
	return envelope.AD{Tenant: string(strongroom.PlatformTenant), Table: "mfa_factors", Row: f.ID, Field: "secret"}
}

// TOTPEnrolment is a new, unconfirmed TOTP factor: the secret and its otpauth
// URI (and QR code) are shown once, to be scanned by an authenticator app.
type TOTPEnrolment struct {
	Factor strongroom.MFAFactor
	Secret string
	URI    string
	QRPNG  []byte
}

// EnrolTOTP starts a TOTP enrolment for the signed-in user. It becomes a
// factor when ConfirmTOTP receives a first valid code.
func (s *Service) EnrolTOTP(ctx context.Context, name string) (*TOTPEnrolment, error) {
	p, user, err := s.mfaChange(ctx)
	if err != nil {
		return nil, err
	}
	if name, err = validName("/name", defaultString(name, "Authenticator app"), 100); err != nil {
		return nil, err
	}
	key, err := totp.Generate(s.issuer, user.Email)
	if err != nil {
		return nil, err
	}
	png, err := totp.QRPNG(key.URI, 256)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	f := strongroom.MFAFactor{ID: id, UserID: p.UserID, Kind: strongroom.MethodTOTP, Name: name, CreatedAt: s.clock()}
	if f.Secret, err = envelope.Seal(keys.Current, factorAD(&f), []byte(key.Secret), s.rand); err != nil {
		return nil, fmt.Errorf("sealing totp secret: %w", err)
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.DeleteUnconfirmedFactors(ctx, p.UserID); err != nil {
			return err
		}
		if err := tx.CreateFactor(ctx, &f); err != nil {
			return err
		}
		return audit(ctx, tx, "mfa.totp.enrol_start", "mfa_factor", f.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Factor: f, Secret: key.Secret, URI: key.URI, QRPNG: png}, nil
}

// MFAConfirmation is the outcome of confirming a factor: recovery codes when
// it was the user's first (shown once), and the session's rotated token now at
// AAL2.
type MFAConfirmation struct {
	Factor        strongroom.MFAFactor
	RecoveryCodes []string
	Session       *SessionGrant
}

// ConfirmTOTP confirms a TOTP enrolment with a first code.
func (s *Service) ConfirmTOTP(ctx context.Context, id, code string) (*MFAConfirmation, error) {
	p, _, err := s.mfaChange(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := s.factors(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	var f *strongroom.MFAFactor
	for i := range fs {
		if fs[i].ID == id && fs[i].Kind == strongroom.MethodTOTP {
			f = &fs[i]
		}
	}
	if f == nil || f.ConfirmedAt != nil {
		return nil, strongroom.Errorf(strongroom.ENOTFOUND, "no TOTP enrolment waiting for confirmation")
	}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	secret, err := openSealed(keys, factorAD(f), f.Secret)
	if err != nil {
		return nil, fmt.Errorf("opening factor %s: %w", f.ID, err)
	}
	now := s.clock()
	step, err := totp.Validate(string(secret), code, now, f.LastStep)
	if err != nil {
		s.auditSignIn(ctx, "mfa.totp.confirm", p.UserID, strongroom.ResultFailure, "invalid code")
		return nil, validation("/code", "the code does not match: check the authenticator app's clock and try the current code")
	}
	return s.confirmFactor(ctx, f, "mfa.totp.confirm", func(tx *store.Tx) error {
		ok, err := tx.UseTOTPFactor(ctx, p.UserID, f.ID, step, now)
		if err == nil && !ok {
			err = strongroom.Errorf(strongroom.ECONFLICT, "this code was already used")
		}
		return err
	})
}

// confirmFactor finishes enrolling f in one transaction with confirm: first
// recovery codes when the user had no factor, the audit event, and the
// session's upgrade to AAL2 (its token rotated).
func (s *Service) confirmFactor(ctx context.Context, f *strongroom.MFAFactor, action string, confirm func(tx *store.Tx) error) (*MFAConfirmation, error) {
	p := strongroom.PrincipalFrom(ctx)
	had, err := s.confirmedFactors(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	var codes []string
	var hashes [][]byte
	if had == 0 {
		if codes, hashes, err = s.newRecoveryCodes(ctx, p.UserID); err != nil {
			return nil, err
		}
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := confirm(tx); err != nil {
			return err
		}
		if hashes != nil {
			if err := tx.ReplaceRecoveryCodes(ctx, p.UserID, hashes, s.clock()); err != nil {
				return err
			}
		}
		return audit(ctx, tx, action, "mfa_factor", f.ID, map[string]any{"kind": f.Kind, "recovery_codes_issued": len(hashes)})
	})
	if err != nil {
		return nil, err
	}
	now := s.clock()
	f.ConfirmedAt = &now
	g, err := s.upgradeSession(ctx, p.Session, 2, appendMissing(p.Session.Methods, f.Kind), "session.upgrade")
	if err != nil {
		return nil, err
	}
	return &MFAConfirmation{Factor: *f, RecoveryCodes: codes, Session: g}, nil
}

// mfaChange is the gate of every MFA change: a signed-in user whose session
// authenticated recently (step-up) and, once the user has a second factor,
// with it (AAL2): otherwise a session that never proved the factor (one opened
// before it), with the password, could remove it or add its own.
func (s *Service) mfaChange(ctx context.Context) (*strongroom.Principal, *strongroom.User, error) {
	if err := s.requireStepUp(ctx); err != nil {
		return nil, nil, err
	}
	p := strongroom.PrincipalFrom(ctx)
	if p.Session.AAL < 2 {
		n, err := s.confirmedFactors(ctx, p.UserID)
		if err != nil {
			return nil, nil, err
		}
		if n > 0 {
			return nil, nil, strongroom.Errorf(strongroom.EMFAREQUIRED,
				"changing multi-factor authentication needs your second factor: step up with a code from your authenticator app, or sign in again with it")
		}
	}
	u, err := s.user(ctx, p.UserID)
	if err != nil {
		return nil, nil, err
	}
	return p, u, nil
}

// MFAStatus lists the user's factors and how many recovery codes remain.
type MFAStatus struct {
	Factors       []strongroom.MFAFactor
	RecoveryCodes int
}

// MyMFA returns the signed-in user's MFA status.
func (s *Service) MyMFA(ctx context.Context) (*MFAStatus, error) {
	p := strongroom.PrincipalFrom(ctx)
	if p.Kind != strongroom.PrincipalUser {
		return nil, strongroom.Errorf(strongroom.EUNAUTHORIZED, "authentication required")
	}
	var st MFAStatus
	err := s.store.Read(ctx, store.Scope{User: p.UserID}, func(tx *store.Tx) error {
		var err error
		if st.Factors, err = tx.Factors(ctx, p.UserID); err != nil {
			return err
		}
		st.RecoveryCodes, err = tx.CountRecoveryCodes(ctx, p.UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	confirmed := st.Factors[:0]
	for _, f := range st.Factors {
		if f.ConfirmedAt != nil {
			confirmed = append(confirmed, f)
		}
	}
	st.Factors = confirmed
	return &st, nil
}

// DeleteFactor removes one of the signed-in user's factors. Removing the last
// one also voids the recovery codes.
func (s *Service) DeleteFactor(ctx context.Context, id string) error {
	p, _, err := s.mfaChange(ctx)
	if err != nil {
		return err
	}
	if !ValidID(id) {
		return strongroom.Errorf(strongroom.ENOTFOUND, "factor not found")
	}
	return s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.DeleteFactor(ctx, p.UserID, id); err != nil {
			return err
		}
		fs, err := tx.Factors(ctx, p.UserID)
		if err != nil {
			return err
		}
		left := 0 // an enrolment never confirmed is no factor
		for _, f := range fs {
			if f.ConfirmedAt != nil {
				left++
			}
		}
		if left == 0 {
			if err := tx.ReplaceRecoveryCodes(ctx, p.UserID, nil, s.clock()); err != nil {
				return err
			}
		}
		return audit(ctx, tx, "mfa.factor.delete", "mfa_factor", id, map[string]any{"factors_left": left})
	})
}

// RegenerateRecoveryCodes replaces the user's recovery codes with ten new
// ones, shown once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context) ([]string, error) {
	p, _, err := s.mfaChange(ctx)
	if err != nil {
		return nil, err
	}
	if n, err := s.confirmedFactors(ctx, p.UserID); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, strongroom.Errorf(strongroom.ECONFLICT, "recovery codes need a second factor first")
	}
	codes, hashes, err := s.newRecoveryCodes(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error {
		if err := tx.ReplaceRecoveryCodes(ctx, p.UserID, hashes, s.clock()); err != nil {
			return err
		}
		return audit(ctx, tx, "mfa.recovery_codes.regenerate", "user", string(p.UserID), nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// recoveryAlphabet avoids look-alike characters (no 0/O, 1/I/L).
const recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// newRecoveryCodes returns ten codes of 12 characters (about 59 bits each,
// shown as xxxx-xxxx-xxxx) and their keyed hashes.
func (s *Service) newRecoveryCodes(ctx context.Context, user strongroom.UserID) ([]string, [][]byte, error) {
	r := s.rand
	if r == nil {
		r = rand.Reader
	}
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		var b [12]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, nil, fmt.Errorf("reading randomness: %w", err)
		}
		var sb strings.Builder
		for j, c := range b {
			if j > 0 && j%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)])
		}
		codes[i] = sb.String()
		h, err := s.recoveryHash(ctx, user, codes[i])
		if err != nil {
			return nil, nil, err
		}
		hashes[i] = h
	}
	return codes, hashes, nil
}

// recoveryHash is the stored form of a recovery code: a keyed hash (the
// platform's index key) of the user and the code without separators or case.
func (s *Service) recoveryHash(ctx context.Context, user strongroom.UserID, code string) ([]byte, error) {
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return nil, err
	}
	norm := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(norm) > 64 {
		norm = norm[:64]
	}
	return keys.Index.Term([]byte("recovery-code"), []byte(user), []byte(norm)), nil
}

// WebAuthn (passkeys and security keys).

// Ceremony is a WebAuthn ceremony in flight: options for the browser's
// navigator.credentials call and the single-use ID to finish it with.
type Ceremony struct {
	ID        string
	Options   json.RawMessage
	ExpiresAt time.Time
}

func (s *Service) passkeyUser(ctx context.Context, user *strongroom.User) (passkey.User, error) {
	fs, err := s.factors(ctx, user.ID)
	if err != nil {
		return passkey.User{}, err
	}
	u := passkey.User{ID: []byte(user.ID), Name: user.Email, DisplayName: user.Email}
	keys, err := s.keys.Keys(ctx, strongroom.PlatformTenant)
	if err != nil {
		return passkey.User{}, err
	}
	for _, f := range fs {
		if f.Kind != strongroom.MethodWebAuthn {
			continue
		}
		c, err := openCredential(keys, &f)
		if err != nil {
			return passkey.User{}, err
		}
		u.Credentials = append(u.Credentials, c)
	}
	return u, nil
}

// openCredential opens a WebAuthn factor's sealed credential record.
func openCredential(keys *keyring.TenantKeys, f *strongroom.MFAFactor) (passkey.Credential, error) {
	b, err := openSealed(keys, factorAD(f), f.Secret)
	if err != nil {
		return passkey.Credential{}, fmt.Errorf("opening factor %s: %w", f.ID, err)
	}
	var c passkey.Credential
	if err := json.Unmarshal(b, &c); err != nil {
		return passkey.Credential{}, fmt.Errorf("decoding factor %s: %w", f.ID, err)
	}
	return c, nil
}

// sealCredential seals a WebAuthn credential record into f.
func (s *Service) sealCredential(keys *keyring.TenantKeys, f *strongroom.MFAFactor, c passkey.Credential) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding credential: %w", err)
	}
	if f.Secret, err = envelope.Seal(keys.Current, factorAD(f), b, s.rand); err != nil {
		return fmt.Errorf("sealing credential: %w", err)
	}
	return nil
}
