package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// SessionCookie carries a browser session: __Host- prefixed (Secure, Path=/,
// no Domain), HttpOnly, SameSite=Lax. Unsafe cookie-authenticated requests
// pass http.CrossOriginProtection (CSRF).
const SessionCookie = "__Host-strongroom_session"

// writeGrant answers a new session: the token in the body, or, for a browser
// that asked for a cookie, only in the cookie.
func writeGrant(w http.ResponseWriter, status int, g *service.SessionGrant, extra map[string]any) {
	w.Header().Set("Cache-Control", "no-store")
	body := map[string]any{"expires_at": g.ExpiresAt, "user": toUser(g.User)}
	if g.Session != nil {
		body["session"] = toSession(service.SessionInfo{Session: *g.Session, Current: true})
	}
	if g.Session != nil && g.Session.Cookie {
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: g.Token, Path: "/", Expires: g.ExpiresAt,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	} else {
		body["token"] = g.Token
	}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

// writeSignIn answers a sign-in: a session, or the MFA step still to take.
func writeSignIn(w http.ResponseWriter, res *service.SignInResult) {
	if res.Grant != nil {
		writeGrant(w, http.StatusOK, res.Grant, nil)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"mfa_required": true, "challenge": res.MFA.Challenge,
		"methods": res.MFA.Methods, "expires_at": res.MFA.ExpiresAt})
}

type sessionJSON struct {
	ID         strongroom.SessionID `json:"id"`
	Current    bool                 `json:"current"`
	DeviceType string               `json:"device_type"`
	OS         string               `json:"os"`
	Browser    string               `json:"browser"`
	IP         string               `json:"ip"`
	AAL        int                  `json:"aal"`
	Methods    []string             `json:"methods"`
	Cookie     bool                 `json:"browser_session"`
	CreatedAt  time.Time            `json:"created_at"`
	LastSeenAt time.Time            `json:"last_seen_at"`
	ExpiresAt  time.Time            `json:"expires_at"`
	IdleExpiry time.Time            `json:"idle_expires_at"`
}

func toSession(v service.SessionInfo) sessionJSON {
	m := v.Methods
	if m == nil {
		m = []string{}
	}
	return sessionJSON{ID: v.ID, Current: v.Current, DeviceType: v.DeviceType, OS: v.OS, Browser: v.Browser, IP: v.IP,
		AAL: v.AAL, Methods: m, Cookie: v.Cookie, CreatedAt: v.CreatedAt, LastSeenAt: v.LastSeenAt, ExpiresAt: v.ExpiresAt,
		IdleExpiry: v.LastSeenAt.Add(v.IdleTimeout)}
}

func writeSessions(w http.ResponseWriter, list []service.SessionInfo) {
	out := make([]sessionJSON, 0, len(list))
	for _, v := range list {
		out = append(out, toSession(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email        string `json:"email"`
		Password     string `json:"password"`
		Organization string `json:"organization"`
		Cookie       bool   `json:"cookie"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := s.svc.Signup(r.Context(), service.SignupInput{Email: in.Email, Password: in.Password, Organization: in.Organization}, in.Cookie)
	if err != nil {
		return err
	}
	writeGrant(w, http.StatusCreated, g, map[string]any{"organization": toOrg(*g.Org)})
	return nil
}

func (s *Server) signInPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Cookie   bool   `json:"cookie"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.svc.SignInPassword(r.Context(), in.Email, in.Password, in.Cookie)
	if err != nil {
		return err
	}
	writeSignIn(w, res)
	return nil
}

func (s *Server) verifyMFA(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Challenge    string          `json:"challenge"`
		Code         string          `json:"code"`
		RecoveryCode string          `json:"recovery_code"`
		Ceremony     string          `json:"ceremony"`
		WebAuthn     json.RawMessage `json:"webauthn"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := s.svc.VerifyMFA(r.Context(), service.MFAInput{Challenge: in.Challenge, Code: in.Code,
		RecoveryCode: in.RecoveryCode, Ceremony: in.Ceremony, WebAuthn: in.WebAuthn})
	if err != nil {
		return err
	}
	writeGrant(w, http.StatusOK, g, nil)
	return nil
}

func writeCeremony(w http.ResponseWriter, c *service.Ceremony) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": c.ID, "options": c.Options, "expires_at": c.ExpiresAt})
}

func (s *Server) beginWebAuthnMFA(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Challenge string `json:"challenge"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.svc.BeginWebAuthnMFA(r.Context(), in.Challenge)
	if err != nil {
		return err
	}
	writeCeremony(w, c)
	return nil
}

func (s *Server) startEmailSignIn(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.StartEmailSignIn(r.Context(), in.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "if an account has this address, a code and a link are on their way"})
	return nil
}

func (s *Server) verifyEmailCode(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email  string `json:"email"`
		Code   string `json:"code"`
		Cookie bool   `json:"cookie"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.svc.VerifyEmailCode(r.Context(), in.Email, in.Code, in.Cookie)
	if err != nil {
		return err
	}
	writeSignIn(w, res)
	return nil
}

func (s *Server) emailLink(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token  string `json:"token"`
		Cookie bool   `json:"cookie"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.svc.SignInEmailLink(r.Context(), in.Token, in.Cookie)
	if err != nil {
		return err
	}
	writeSignIn(w, res)
	return nil
}

func (s *Server) verifyAddress(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.VerifyAddress(r.Context(), in.Token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.ResendVerification(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "a new verification link is on its way"})
	return nil
}

func (s *Server) startEmailStep(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.StartEmailStep(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "a code is on its way"})
	return nil
}

func (s *Server) verifyEmailStep(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := s.svc.VerifyEmailStep(r.Context(), in.Code)
	if err != nil {
		return err
	}
	writeGrant(w, http.StatusOK, g, nil)
	return nil
}

func (s *Server) startPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.StartPasswordReset(r.Context(), in.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "if an account has this address, a reset link is on its way"})
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.ResetPassword(r.Context(), in.Token, in.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.svc.ChangePassword(r.Context(), in.Current, in.New); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) stepUp(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := s.svc.StepUp(r.Context(), service.StepUpInput{Password: in.Password, Code: in.Code})
	if err != nil {
		return err
	}
	writeGrant(w, http.StatusOK, g, nil)
	return nil
}

func (s *Server) beginPasskeySignIn(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.BeginPasskeySignIn(r.Context())
	if err != nil {
		return err
	}
	writeCeremony(w, c)
	return nil
}

func (s *Server) finishPasskeySignIn(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Ceremony string          `json:"ceremony"`
		Response json.RawMessage `json:"response"`
		Cookie   bool            `json:"cookie"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := s.svc.FinishPasskeySignIn(r.Context(), in.Ceremony, in.Response, in.Cookie)
	if err != nil {
		return err
	}
	writeGrant(w, http.StatusOK, g, nil)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.SignOut(r.Context()); err != nil {
		return err
	}
	clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (s *Server) mySessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.svc.MySessions(r.Context())
	if err != nil {
		return err
	}
	writeSessions(w, list)
	return nil
}

func (s *Server) endMySession(w http.ResponseWriter, r *http.Request) error {
	id := strongroom.SessionID(r.PathValue("session"))
	if err := s.svc.EndMySession(r.Context(), id); err != nil {
		return err
	}
	if strongroom.PrincipalFrom(r.Context()).SessionID == id {
		clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) endMySessions(w http.ResponseWriter, r *http.Request) error {
	all, err := boolQuery(r, "include_current")
	if err != nil {
		return err
	}
	if err := s.svc.EndMyOtherSessions(r.Context(), all); err != nil {
		return err
	}
	if all {
		clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func boolQuery(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e := strongroom.Errorf(strongroom.EINVALID, "query parameter %s must be true or false", name)
		return false, e
	}
	return b, nil
}

func (s *Server) memberSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.svc.MemberSessions(r.Context(), orgID(r), strongroom.UserID(r.PathValue("user")))
	if err != nil {
		return err
	}
	writeSessions(w, list)
	return nil
}

func (s *Server) endMemberSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := s.svc.EndMemberSessions(r.Context(), orgID(r), strongroom.UserID(r.PathValue("user")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"sessions_ended": n})
	return nil
}

type factorJSON struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toFactor(f strongroom.MFAFactor) factorJSON {
	return factorJSON{ID: f.ID, Kind: f.Kind, Name: f.Name, CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt}
}

func (s *Server) myMFA(w http.ResponseWriter, r *http.Request) error {
	st, err := s.svc.MyMFA(r.Context())
	if err != nil {
		return err
	}
	fs := make([]factorJSON, 0, len(st.Factors))
	for _, f := range st.Factors {
		fs = append(fs, toFactor(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"factors": fs, "recovery_codes_left": st.RecoveryCodes})
	return nil
}

func (s *Server) enrolTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := s.svc.EnrolTOTP(r.Context(), in.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"id": e.Factor.ID, "name": e.Factor.Name, "secret": e.Secret,
		"otpauth_uri": e.URI, "qr_png": e.QRPNG})
	return nil
}

func writeConfirmation(w http.ResponseWriter, c *service.MFAConfirmation) {
	extra := map[string]any{"factor": toFactor(c.Factor)}
	if c.RecoveryCodes != nil {
		extra["recovery_codes"] = c.RecoveryCodes
	}
	writeGrant(w, http.StatusOK, c.Session, extra)
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.svc.ConfirmTOTP(r.Context(), r.PathValue("factor"), in.Code)
	if err != nil {
		return err
	}
	writeConfirmation(w, c)
	return nil
}

func (s *Server) beginWebAuthnRegistration(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.BeginWebAuthnRegistration(r.Context())
	if err != nil {
		return err
	}
	writeCeremony(w, c)
	return nil
}

func (s *Server) finishWebAuthnRegistration(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Ceremony string          `json:"ceremony"`
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.svc.FinishWebAuthnRegistration(r.Context(), in.Ceremony, in.Name, in.Response)
	if err != nil {
		return err
	}
	writeConfirmation(w, c)
	return nil
}

func (s *Server) deleteFactor(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteFactor(r.Context(), r.PathValue("factor")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	codes, err := s.svc.RegenerateRecoveryCodes(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
	return nil
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := s.svc.OrgSettings(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsJSON(set))
	return nil
}

func settingsJSON(s *strongroom.OrgSettings) strongroom.OrgSettings {
	out := *s
	if out.SignInMethods == nil {
		out.SignInMethods = []string{}
	}
	if out.AllowedEmailDomains == nil {
		out.AllowedEmailDomains = []string{}
	}
	return out
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) error {
	var in strongroom.OrgSettings
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	set, err := s.svc.UpdateOrgSettings(r.Context(), orgID(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsJSON(set))
	return nil
}

type apiKeyJSON struct {
	ID         strongroom.APIKeyID  `json:"id"`
	Name       string               `json:"name"`
	Prefix     string               `json:"prefix"`
	Role       strongroom.Role      `json:"role"`
	ClientID   *strongroom.ClientID `json:"client_id"`
	CreatedBy  strongroom.UserID    `json:"created_by"`
	CreatedAt  time.Time            `json:"created_at"`
	ExpiresAt  *time.Time           `json:"expires_at"`
	LastUsedAt *time.Time           `json:"last_used_at"`
	RevokedAt  *time.Time           `json:"revoked_at"`
	RotatedTo  *strongroom.APIKeyID `json:"rotated_to"`
}

func toAPIKey(k strongroom.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Role: k.Role, ClientID: k.ClientID, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, RotatedTo: k.RotatedTo}
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.svc.APIKeys(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	out := make([]apiKeyJSON, 0, len(ks))
	for _, k := range ks {
		out = append(out, toAPIKey(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func writeNewKey(w http.ResponseWriter, k *service.NewAPIKey) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"key": toAPIKey(k.Key), "secret": k.Secret})
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name      string               `json:"name"`
		Role      strongroom.Role      `json:"role"`
		ClientID  *strongroom.ClientID `json:"client_id"`
		ExpiresAt *time.Time           `json:"expires_at"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, err := s.svc.CreateAPIKey(r.Context(), orgID(r), service.APIKeyInput{Name: in.Name, Role: in.Role, ClientID: in.ClientID, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return err
	}
	writeNewKey(w, k)
	return nil
}

func (s *Server) rotateAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		OverlapSeconds *int64 `json:"overlap_seconds"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	overlap := service.DefaultRotationOverlap
	if in.OverlapSeconds != nil {
		overlap = time.Duration(*in.OverlapSeconds) * time.Second
		if *in.OverlapSeconds < 0 || *in.OverlapSeconds > 30*24*3600 {
			overlap = -1
		}
	}
	k, err := s.svc.RotateAPIKey(r.Context(), orgID(r), strongroom.APIKeyID(r.PathValue("key")), overlap)
	if err != nil {
		return err
	}
	writeNewKey(w, k)
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.RevokeAPIKey(r.Context(), orgID(r), strongroom.APIKeyID(r.PathValue("key"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type invitationJSON struct {
	ID         strongroom.InvitationID `json:"id"`
	Email      string                  `json:"email"`
	Role       strongroom.Role         `json:"role"`
	ClientIDs  []strongroom.ClientID   `json:"client_ids"`
	InvitedBy  strongroom.UserID       `json:"invited_by"`
	CreatedAt  time.Time               `json:"created_at"`
	ExpiresAt  time.Time               `json:"expires_at"`
	AcceptedAt *time.Time              `json:"accepted_at"`
	RevokedAt  *time.Time              `json:"revoked_at"`
}

func toInvitation(i strongroom.Invitation) invitationJSON {
	c := i.Clients
	if c == nil {
		c = []strongroom.ClientID{}
	}
	return invitationJSON{ID: i.ID, Email: i.Email, Role: i.Role, ClientIDs: c, InvitedBy: i.InvitedBy,
		CreatedAt: i.CreatedAt, ExpiresAt: i.ExpiresAt, AcceptedAt: i.AcceptedAt, RevokedAt: i.RevokedAt}
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request) error {
	list, err := s.svc.Invitations(r.Context(), orgID(r))
	if err != nil {
		return err
	}
	out := make([]invitationJSON, 0, len(list))
	for _, i := range list {
		out = append(out, toInvitation(i))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email     string                `json:"email"`
		Role      strongroom.Role       `json:"role"`
		ClientIDs []strongroom.ClientID `json:"client_ids"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	inv, err := s.svc.Invite(r.Context(), orgID(r), service.InvitationInput{Email: in.Email, Role: in.Role, Clients: in.ClientIDs})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toInvitation(*inv))
	return nil
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.RevokeInvitation(r.Context(), orgID(r), strongroom.InvitationID(r.PathValue("invitation"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
		Cookie   bool   `json:"cookie"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.svc.AcceptInvitation(r.Context(), service.AcceptInput{Token: in.Token, Password: in.Password}, in.Cookie)
	if err != nil {
		return err
	}
	extra := map[string]any{"organization_id": a.Membership.TenantID, "membership": toMember(a.Membership)}
	if a.Grant != nil {
		writeGrant(w, http.StatusCreated, a.Grant, extra)
		return nil
	}
	writeJSON(w, http.StatusOK, extra)
	return nil
}

func (s *Server) operatorOutbox(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return strongroom.Errorf(strongroom.EINVALID, "limit must be 1 to 200")
		}
		limit = n
	}
	msgs, err := s.svc.OutboxMessages(r.Context(), limit)
	if err != nil {
		return err
	}
	type msgJSON struct {
		ID      string    `json:"id"`
		Time    time.Time `json:"time"`
		To      string    `json:"to"`
		Subject string    `json:"subject"`
		Kind    string    `json:"kind"`
		Text    string    `json:"text"`
	}
	out := make([]msgJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, msgJSON{ID: m.ID, Time: m.Time, To: m.To, Subject: m.Subject, Kind: m.Kind, Text: m.Text})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

// OIDCFlowCookie binds an OpenID Connect sign-in in flight to the browser that
// started it (login-CSRF protection): the callback finds its flow only through
// this cookie. SameSite=Lax: the provider's redirect back is a top-level GET.
const OIDCFlowCookie = "__Host-strongroom_oidc"

func (s *Server) oidcProviders(w http.ResponseWriter, r *http.Request) error {
	type providerJSON struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		StartURL    string `json:"start_url"`
	}
	out := []providerJSON{}
	for _, p := range s.svc.OIDCProviders() {
		out = append(out, providerJSON{Name: p.Name, DisplayName: p.DisplayName, StartURL: "/api/v1/auth/oidc/" + p.Name + "/start"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Server) startOIDC(w http.ResponseWriter, r *http.Request) error {
	authURL, token, expires, err := s.svc.StartOIDC(r.Context(), r.PathValue("provider"))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: OIDCFlowCookie, Value: token, Path: "/", Expires: expires,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusFound)
	return nil
}

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	token := ""
	if c, err := r.Cookie(OIDCFlowCookie); err == nil {
		token = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: OIDCFlowCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	res, err := s.svc.FinishOIDC(r.Context(), r.PathValue("provider"), token, r.URL.Query())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if res.Grant != nil {
		// The browser's cookie now carries the new session: end the one it
		// replaces rather than leave it running unseen.
		if p := strongroom.PrincipalFrom(r.Context()); p.Session != nil && p.Session.Cookie {
			if err := s.svc.SignOut(r.Context()); err != nil {
				s.log.Warn("ending the session an OIDC sign-in replaced", "err", err)
			}
		}
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: res.Grant.Token, Path: "/", Expires: res.Grant.ExpiresAt,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	// The challenge travels in the fragment: never sent to a server or in a
	// Referer header; the console's MFA page reads it.
	http.Redirect(w, r, "/signin/mfa#challenge="+url.QueryEscape(res.MFA.Challenge), http.StatusSeeOther)
	return nil
}
