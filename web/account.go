package web

import (
	"html/template"
	"net/http"
	"net/url"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// The account: password, e-mail confirmation, second factors, recovery codes,
// sessions, and the step-up the service asks for before sensitive changes.

func (c *Console) accountView(r *http.Request) *view {
	return &view{Title: "Your account", Nav: "account"}
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "account", c.accountView(r))
}

func (c *Console) changePassword(w http.ResponseWriter, r *http.Request) {
	v := c.accountView(r)
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "account", v, err)
		return
	}
	if err := required(r, "current_password", "new_password"); err != nil {
		c.fail(w, r, "account", v, err)
		return
	}
	if err := c.svc.ChangePassword(r.Context(), r.PostFormValue("current_password"), r.PostFormValue("new_password")); err != nil {
		c.stepUpOr(w, r, err, func() { c.fail(w, r, "account", v, err) })
		return
	}
	redirect(w, r, "/account", "password-changed")
}

func (c *Console) resendVerification(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if err := c.svc.ResendVerification(r.Context()); err != nil {
		c.fail(w, r, "account", c.accountView(r), err)
		return
	}
	redirect(w, r, "/account", "verify-sent")
}

// stepUpOr sends the browser to confirm who they are when err asks for a
// recent sign-in, and otherwise runs orElse. The page that sent the form is
// where the user comes back to.
func (c *Console) stepUpOr(w http.ResponseWriter, r *http.Request, err error, orElse func()) {
	if strongroom.ErrorCode(err) != strongroom.ESTEPUP {
		orElse()
		return
	}
	back := r.PostFormValue("back")
	redirect(w, r, "/account/step-up?next="+url.QueryEscape(safeNext(back, "/account")), "")
}

type mfaStatusData struct {
	Status *service.MFAStatus
}

func (c *Console) mfaStatusView(w http.ResponseWriter, r *http.Request) (*view, bool) {
	st, err := c.svc.MyMFA(r.Context())
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	return &view{Title: "Two-step sign-in", Nav: "mfa", Data: mfaStatusData{Status: st}}, true
}

func (c *Console) mfaSettings(w http.ResponseWriter, r *http.Request) {
	v, ok := c.mfaStatusView(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "mfasettings", v)
}

type totpData struct {
	FactorID string
	Name     string
	Secret   string
	URI      string
	QR       template.HTML
	Codes    []string // recovery codes, after confirmation
}

func (c *Console) totpView(d totpData) *view {
	if d.URI != "" {
		if svg, err := qrSVG(d.URI, "QR code of the authenticator secret"); err == nil {
			d.QR = svg
		} else {
			c.log.Warn("console: rendering the QR code", "err", err)
		}
	}
	return &view{Title: "Add an authenticator app", Nav: "mfa", Data: d}
}

func (c *Console) enrolTOTP(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	e, err := c.svc.EnrolTOTP(r.Context(), r.PostFormValue("name"))
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			v, ok := c.mfaStatusView(w, r)
			if ok {
				v.Form = keep(r)
				c.fail(w, r, "mfasettings", v, err)
			}
		})
		return
	}
	c.render(w, r, http.StatusOK, "totp", c.totpView(totpData{FactorID: e.Factor.ID, Name: e.Factor.Name, Secret: e.Secret, URI: e.URI}))
}

func (c *Console) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	// The secret travels back with the form only to show the same QR code
	// again after a mistyped code; the service keeps its own sealed copy.
	d := totpData{FactorID: r.PostFormValue("factor"), Name: r.PostFormValue("name"),
		Secret: r.PostFormValue("secret"), URI: r.PostFormValue("uri")}
	v := c.totpView(d)
	if err := required(r, "code"); err != nil {
		c.fail(w, r, "totp", v, err)
		return
	}
	conf, err := c.svc.ConfirmTOTP(r.Context(), d.FactorID, r.PostFormValue("code"))
	if err != nil {
		c.stepUpOr(w, r, err, func() { c.fail(w, r, "totp", v, err) })
		return
	}
	if conf.Session != nil {
		setSession(w, conf.Session)
	}
	c.render(w, r, http.StatusOK, "codes", &view{Title: "Save your recovery codes", Nav: "mfa",
		Data: totpData{Name: conf.Factor.Name, Codes: conf.RecoveryCodes}})
}

func (c *Console) regenerateCodes(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	codes, err := c.svc.RegenerateRecoveryCodes(r.Context())
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			if v, ok := c.mfaStatusView(w, r); ok {
				c.fail(w, r, "mfasettings", v, err)
			}
		})
		return
	}
	c.render(w, r, http.StatusOK, "codes", &view{Title: "Save your recovery codes", Nav: "mfa", Data: totpData{Codes: codes}})
}

func (c *Console) deleteFactor(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if err := c.svc.DeleteFactor(r.Context(), r.PathValue("factor")); err != nil {
		c.stepUpOr(w, r, err, func() {
			if v, ok := c.mfaStatusView(w, r); ok {
				c.fail(w, r, "mfasettings", v, err)
			}
		})
		return
	}
	redirect(w, r, "/account/mfa", "factor-removed")
}

// Step-up: confirm who you are (password or authenticator code) for a
// sensitive change; the session's token is rotated.

func (c *Console) stepUpPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "stepup", &view{Title: "Confirm it is you", Data: safeNext(r.FormValue("next"), "/account")})
}

func (c *Console) stepUp(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Confirm it is you", Data: "/account"}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "stepup", v, err)
		return
	}
	next := safeNext(r.PostFormValue("next"), "/account")
	v.Data = next
	pw, code := r.PostFormValue("password"), r.PostFormValue("code")
	if pw == "" && code == "" {
		c.fail(w, r, "stepup", v, fieldError("/password", "is required (or give a code from your authenticator app)"))
		return
	}
	g, err := c.svc.StepUp(r.Context(), service.StepUpInput{Password: pw, Code: code})
	if err != nil {
		c.fail(w, r, "stepup", v, err)
		return
	}
	setSession(w, g)
	redirect(w, r, next, "stepped-up")
}

// Sessions: the user's own, with the current one marked.

func (c *Console) sessionsPage(w http.ResponseWriter, r *http.Request) {
	list, err := c.svc.MySessions(r.Context())
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "sessions", &view{Title: "Your sessions", Nav: "sessions", Data: list, Wide: true})
}

func (c *Console) endSession(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	id := strongroom.SessionID(r.PathValue("session"))
	if err := c.svc.EndMySession(r.Context(), id); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if strongroom.PrincipalFrom(r.Context()).SessionID == id {
		clearSession(w)
		redirect(w, r, "/signin", "signed-out")
		return
	}
	redirect(w, r, "/account/sessions", "session-ended-one")
}

func (c *Console) endOtherSessions(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if err := c.svc.EndMyOtherSessions(r.Context(), false); err != nil {
		c.errorPage(w, r, err)
		return
	}
	redirect(w, r, "/account/sessions", "sessions-ended")
}
