package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
)

// Organization settings: MFA required, the e-mail step, allowed sign-in
// methods and e-mail domains, session lifetimes.

type settingsData struct {
	Settings  *strongroom.OrgSettings
	Retention strongroom.RetentionPolicy // the default policy, zero when none
	Methods   []methodChoice
	Domains   string
	CanWrite  bool
}

type methodChoice struct {
	Value, Label string
	On           bool
}

var methodLabels = map[string]string{strongroom.MethodPassword: "Password", strongroom.MethodEmail: "E-mailed code or link",
	strongroom.MethodOIDC: "OpenID Connect (Google, Microsoft, …)", strongroom.MethodPasskey: "Passkey (passwordless)"}

func settingsView(o *strongroom.OrgMembership, set *strongroom.OrgSettings, canWrite bool) *view {
	d := settingsData{Settings: set, Domains: strings.Join(set.AllowedEmailDomains, "\n"), CanWrite: canWrite}
	if set.DefaultRetention != nil {
		d.Retention = *set.DefaultRetention
	}
	for _, m := range strongroom.SignInMethods {
		d.Methods = append(d.Methods, methodChoice{Value: m, Label: methodLabels[m],
			On: len(set.SignInMethods) == 0 || slices.Contains(set.SignInMethods, m)})
	}
	return &view{Title: "Settings · " + o.Organization.Name, Nav: "settings", Org: o, Data: d}
}

func (c *Console) loadSettings(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*strongroom.OrgMembership, *strongroom.OrgSettings, bool) {
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, nil, false
	}
	set, err := c.svc.OrgSettings(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, nil, false
	}
	return o, set, true
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, set, ok := c.loadSettings(w, r, ctx, org)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "settings", settingsView(o, set, can(ctx, access.SettingsWrite, org)))
}

func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, cur, ok := c.loadSettings(w, r, ctx, org)
	if !ok {
		return
	}
	if err := readForm(w, r); err != nil {
		c.fail(w, r, "settings", settingsView(o, cur, true), err)
		return
	}
	in, err := settingsFromForm(r)
	if err == nil {
		_, err = c.svc.UpdateOrgSettings(ctx, org, in)
	}
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			v := settingsView(o, &in, true)
			d := v.Data.(settingsData)
			d.Domains = r.PostFormValue("allowed_email_domains")
			v.Data = d
			v.Form = keep(r)
			c.fail(w, r, "settings", v, err)
		})
		return
	}
	redirect(w, r, "/orgs/"+url.PathEscape(string(org))+"/settings", "settings-saved")
}

// settingsFromForm reads the settings form. Every sign-in method ticked
// means "all" (the empty list), so that methods added later are allowed too.
func settingsFromForm(r *http.Request) (strongroom.OrgSettings, error) {
	in := strongroom.OrgSettings{MFARequired: r.PostFormValue("mfa_required") == "on",
		EmailVerifyEachSignIn: r.PostFormValue("email_verify_each_sign_in") == "on"}
	methods := r.PostForm["sign_in_methods"]
	if len(methods) == 0 {
		return in, fieldError("/sign_in_methods", "tick at least one sign-in method")
	}
	if len(methods) < len(strongroom.SignInMethods) {
		in.SignInMethods = methods
	}
	for _, d := range strings.FieldsFunc(r.PostFormValue("allowed_email_domains"), func(r rune) bool {
		return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t'
	}) {
		in.AllowedEmailDomains = append(in.AllowedEmailDomains, strings.ToLower(d))
	}
	var err error
	if in.SessionIdleMinutes, err = number(r, "session_idle_minutes"); err != nil {
		return in, err
	}
	if in.SessionAbsoluteHours, err = number(r, "session_absolute_hours"); err != nil {
		return in, err
	}
	// Retention (LIF-01): the form always carries it, so saving the page
	// never drops a policy set here or through the API.
	p, err := retentionFromForm(r)
	if err != nil {
		return in, err
	}
	if p.Days > 0 {
		in.DefaultRetention = &p
	}
	if in.AuditRetentionDays, err = number(r, "audit_retention_days"); err != nil {
		return in, err
	}
	return in, nil
}

func number(r *http.Request, name string) (int, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fieldError("/"+name, "must be a whole number, 0 for the platform default")
	}
	return n, nil
}

// retentionFromForm reads a retention policy from the form's retention_days,
// retention_from and retention_field; 0 days is "keep" (the zero policy).
func retentionFromForm(r *http.Request) (strongroom.RetentionPolicy, error) {
	days, err := number(r, "retention_days")
	if err != nil || days == 0 {
		return strongroom.RetentionPolicy{}, err
	}
	p := strongroom.RetentionPolicy{Days: days, From: r.PostFormValue("retention_from")}
	if p.From == strongroom.RetainFromField {
		p.Field = strings.TrimSpace(r.PostFormValue("retention_field"))
	}
	return p, nil
}
