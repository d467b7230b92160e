package web

import (
	"net/http"
	"net/url"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/oidcauth"
	"strongroom.dev/strongroom/service"
)

// Sign-up, sign-in by every method, and sign-out. Secrets (passwords, codes)
// are never filled back into a form.

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	if strongroom.PrincipalFrom(r.Context()).Authenticated() {
		me, err := c.svc.Me(r.Context())
		if err != nil {
			c.errorPage(w, r, err)
			return
		}
		if len(me.Organizations) > 0 {
			http.Redirect(w, r, "/orgs/"+string(me.Organizations[0].Organization.ID), http.StatusSeeOther)
			return
		}
		c.render(w, r, http.StatusOK, "noorg", &view{Title: "No organization", Me: me})
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	c.render(w, r, http.StatusOK, "index", &view{Title: "Strongroom", Data: scheme + "://" + r.Host, Wide: true})
}

func (c *Console) signupPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "signup", &view{Title: "Create an account"})
}

func (c *Console) signup(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Create an account"}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "signup", v, err)
		return
	}
	v.Form = keep(r, "password")
	if err := required(r, "email", "password", "organization"); err != nil {
		c.fail(w, r, "signup", v, err)
		return
	}
	g, err := c.svc.Signup(r.Context(), service.SignupInput{Email: r.PostFormValue("email"),
		Password: r.PostFormValue("password"), Organization: r.PostFormValue("organization")}, true)
	if err != nil {
		c.fail(w, r, "signup", v, err)
		return
	}
	setSession(w, g)
	redirect(w, r, "/orgs/"+string(g.Org.Organization.ID), "welcome")
}

type signinData struct {
	Next      string
	Providers []oidcauth.ProviderInfo
}

func (c *Console) signinView(r *http.Request) *view {
	next := safeNext(r.FormValue("next"), "/")
	return &view{Title: "Sign in", Data: signinData{Next: next, Providers: c.svc.OIDCProviders()}}
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "signin", c.signinView(r))
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "signin", c.signinView(r), err)
		return
	}
	v := c.signinView(r)
	v.Form = keep(r, "password")
	if err := required(r, "email", "password"); err != nil {
		c.fail(w, r, "signin", v, err)
		return
	}
	res, err := c.svc.SignInPassword(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), true)
	if err != nil {
		c.fail(w, r, "signin", v, err)
		return
	}
	c.signedIn(w, r, res, v.Data.(signinData).Next)
}

// signedIn finishes a first factor: a session, or the MFA page for the
// challenge (rendered at once, so that the challenge never sits in a URL).
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request, res *service.SignInResult, next string) {
	if res.Grant != nil {
		c.replaceSession(w, r, res.Grant)
		redirect(w, r, next, "")
		return
	}
	c.render(w, r, http.StatusOK, "mfa", mfaView(res.MFA.Challenge, res.MFA.Methods, next))
}

// replaceSession puts a new session in the cookie and ends the one the
// browser had, if any, rather than leave it running unseen.
func (c *Console) replaceSession(w http.ResponseWriter, r *http.Request, g *service.SessionGrant) {
	if p := strongroom.PrincipalFrom(r.Context()); p.Session != nil && p.Session.ID != g.Session.ID {
		if err := c.svc.SignOut(r.Context()); err != nil {
			c.log.Warn("console: ending the replaced session", "err", err, "request_id", p.RequestID)
		}
	}
	setSession(w, g)
}

type mfaData struct {
	Challenge string
	Methods   map[string]bool
	Next      string
}

func mfaView(challenge string, methods []string, next string) *view {
	m := map[string]bool{}
	for _, k := range methods {
		m[k] = true
	}
	if len(methods) == 0 { // from the fragment (OpenID Connect): offer every kind
		m = map[string]bool{strongroom.MethodTOTP: true, strongroom.MethodWebAuthn: true, strongroom.MethodRecovery: true}
	}
	return &view{Title: "Second factor", Data: mfaData{Challenge: challenge, Methods: m, Next: next}}
}

// mfaPage serves the MFA step after an OpenID Connect sign-in, whose
// challenge arrives in the URL fragment: mfa.js copies it into the form.
func (c *Console) mfaPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "mfa", mfaView("", nil, "/"))
}

func (c *Console) mfa(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "mfa", mfaView("", nil, "/"), err)
		return
	}
	challenge, next := r.PostFormValue("challenge"), safeNext(r.PostFormValue("next"), "/")
	v := mfaView(challenge, nil, next)
	code, recovery := r.PostFormValue("code"), r.PostFormValue("recovery_code")
	if challenge == "" {
		c.fail(w, r, "mfa", v, strongroom.Errorf(strongroom.EUNAUTHORIZED, "the sign-in challenge is missing: sign in again"))
		return
	}
	if code == "" && recovery == "" {
		field := "/code"
		if r.PostFormValue("kind") == "recovery" {
			field = "/recovery_code"
		}
		c.fail(w, r, "mfa", v, fieldError(field, "is required"))
		return
	}
	g, err := c.svc.VerifyMFA(r.Context(), service.MFAInput{Challenge: challenge, Code: code, RecoveryCode: recovery})
	if err != nil {
		if strongroom.ErrorCode(err) == strongroom.EUNAUTHORIZED && code != "" {
			err = fieldError("/code", strongroom.ErrorMessage(err))
		}
		c.fail(w, r, "mfa", v, err)
		return
	}
	c.replaceSession(w, r, g)
	redirect(w, r, next, "")
}

func fieldError(path, msg string) error {
	e := strongroom.Errorf(strongroom.EVALIDATION, "the form is not valid")
	e.Fields = []strongroom.FieldError{{Path: path, Message: msg}}
	return e
}

// E-mail sign-in: a code typed into the page, or a magic link opened from
// the message (which asks for a click, so that mail scanners that fetch
// links do not spend it).

type emailData struct {
	Step  string // "start", "code" or "link"
	Token string
	Next  string
}

func (c *Console) emailPage(w http.ResponseWriter, r *http.Request) {
	d := emailData{Step: "start", Next: safeNext(r.FormValue("next"), "/")}
	if t := r.URL.Query().Get("token"); t != "" {
		d.Step, d.Token = "link", t
	}
	c.render(w, r, http.StatusOK, "email", &view{Title: "Sign in with an e-mailed code", Data: d})
}

func (c *Console) email(w http.ResponseWriter, r *http.Request) {
	d := emailData{Step: "start", Next: "/"}
	v := &view{Title: "Sign in with an e-mailed code", Data: d}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "email", v, err)
		return
	}
	d.Next = safeNext(r.PostFormValue("next"), "/")
	v.Form = keep(r, "code", "token")
	switch r.PostFormValue("step") {
	case "start":
		v.Data = d
		if err := required(r, "email"); err != nil {
			c.fail(w, r, "email", v, err)
			return
		}
		if err := c.svc.StartEmailSignIn(r.Context(), r.PostFormValue("email")); err != nil {
			c.fail(w, r, "email", v, err)
			return
		}
		d.Step = "code"
		v.Data = d
		c.render(w, r, http.StatusOK, "email", v)
	case "code":
		d.Step = "code"
		v.Data = d
		if err := required(r, "email", "code"); err != nil {
			c.fail(w, r, "email", v, err)
			return
		}
		res, err := c.svc.VerifyEmailCode(r.Context(), r.PostFormValue("email"), r.PostFormValue("code"), true)
		if err != nil {
			if strongroom.ErrorCode(err) == strongroom.EUNAUTHORIZED {
				err = fieldError("/code", strongroom.ErrorMessage(err))
			}
			c.fail(w, r, "email", v, err)
			return
		}
		c.signedIn(w, r, res, d.Next)
	case "link":
		d.Step, d.Token = "link", r.PostFormValue("token")
		v.Data = d
		res, err := c.svc.SignInEmailLink(r.Context(), d.Token, true)
		if err != nil {
			c.fail(w, r, "email", v, err)
			return
		}
		c.signedIn(w, r, res, d.Next)
	default:
		v.Data = d
		c.fail(w, r, "email", v, errForm)
	}
}

// The organization's e-mail step: a code e-mailed at every sign-in.

func (c *Console) emailStepPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "emailstep", &view{Title: "Confirm your e-mail address",
		Data: emailData{Step: "start", Next: safeNext(r.FormValue("next"), "/")}})
}

func (c *Console) emailStep(w http.ResponseWriter, r *http.Request) {
	d := emailData{Step: "start", Next: "/"}
	v := &view{Title: "Confirm your e-mail address", Data: d}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "emailstep", v, err)
		return
	}
	d.Next = safeNext(r.PostFormValue("next"), "/")
	if r.PostFormValue("step") != "code" {
		v.Data = d
		if err := c.svc.StartEmailStep(r.Context()); err != nil {
			c.fail(w, r, "emailstep", v, err)
			return
		}
		d.Step = "code"
		v.Data = d
		c.render(w, r, http.StatusOK, "emailstep", v)
		return
	}
	d.Step = "code"
	v.Data = d
	if err := required(r, "code"); err != nil {
		c.fail(w, r, "emailstep", v, err)
		return
	}
	g, err := c.svc.VerifyEmailStep(r.Context(), r.PostFormValue("code"))
	if err != nil {
		c.fail(w, r, "emailstep", v, err)
		return
	}
	setSession(w, g)
	redirect(w, r, d.Next, "email-step-done")
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if err := c.svc.SignOut(r.Context()); err != nil && strongroom.ErrorCode(err) != strongroom.EUNAUTHORIZED {
		c.errorPage(w, r, err)
		return
	}
	clearSession(w)
	redirect(w, r, "/signin", "signed-out")
}

// Address verification and password reset, from e-mailed links.

func (c *Console) verifyPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "verify", &view{Title: "Confirm your e-mail address", Data: r.URL.Query().Get("token")})
}

func (c *Console) verify(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Confirm your e-mail address"}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "verify", v, err)
		return
	}
	v.Data = r.PostFormValue("token")
	if err := c.svc.VerifyAddress(r.Context(), r.PostFormValue("token")); err != nil {
		c.fail(w, r, "verify", v, err)
		return
	}
	target := "/signin"
	if strongroom.PrincipalFrom(r.Context()).Authenticated() {
		target = "/account"
	}
	redirect(w, r, target, "verified")
}

func (c *Console) forgotPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "forgot", &view{Title: "Forgot your password?"})
}

func (c *Console) forgot(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Forgot your password?"}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "forgot", v, err)
		return
	}
	v.Form = keep(r)
	if err := required(r, "email"); err != nil {
		c.fail(w, r, "forgot", v, err)
		return
	}
	if err := c.svc.StartPasswordReset(r.Context(), r.PostFormValue("email")); err != nil {
		c.fail(w, r, "forgot", v, err)
		return
	}
	v.Data = "sent"
	c.render(w, r, http.StatusOK, "forgot", v)
}

func (c *Console) resetPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "reset", &view{Title: "Choose a new password", Data: r.URL.Query().Get("token")})
}

func (c *Console) reset(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Choose a new password"}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "reset", v, err)
		return
	}
	v.Data = r.PostFormValue("token")
	if err := required(r, "password"); err != nil {
		c.fail(w, r, "reset", v, err)
		return
	}
	if err := c.svc.ResetPassword(r.Context(), r.PostFormValue("token"), r.PostFormValue("password")); err != nil {
		c.fail(w, r, "reset", v, err)
		return
	}
	clearSession(w)
	redirect(w, r, "/signin", "password-reset")
}

// Invitations: a member joins; a new account sets its password here.

func (c *Console) acceptPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "accept", &view{Title: "Join an organization", Data: r.URL.Query().Get("token")})
}

func (c *Console) accept(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Join an organization"}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "accept", v, err)
		return
	}
	v.Data = r.PostFormValue("token")
	res, err := c.svc.AcceptInvitation(r.Context(), service.AcceptInput{Token: r.PostFormValue("token"),
		Password: r.PostFormValue("password")}, true)
	if err != nil {
		c.fail(w, r, "accept", v, err)
		return
	}
	target := "/orgs/" + url.PathEscape(string(res.Membership.TenantID))
	if res.Grant != nil {
		c.replaceSession(w, r, res.Grant)
	} else if !strongroom.PrincipalFrom(r.Context()).Authenticated() {
		target = "/signin?next=" + url.QueryEscape(target)
	}
	redirect(w, r, target, "invitation")
}
