package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// API keys: create (the secret shown once), rotate with an overlap, revoke.

type apiKeysData struct {
	Keys     []strongroom.APIKey
	CanWrite bool
	Roles    []strongroom.Role
	Now      time.Time
	Secret   string // a new key's secret, shown once
	New      *strongroom.APIKey
}

func (c *Console) apiKeysView(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*view, bool) {
	o, err := c.svc.Organization(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	keys, err := c.svc.APIKeys(ctx, org)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	return &view{Title: "API keys · " + o.Organization.Name, Nav: "apikeys", Org: o, Wide: true,
		Data: apiKeysData{Keys: keys, CanWrite: can(ctx, access.APIKeysWrite, org), Roles: roles, Now: time.Now()}}, true
}

func (c *Console) apiKeysPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if v, ok := c.apiKeysView(w, r, ctx, org); ok {
		c.render(w, r, http.StatusOK, "apikeys", v)
	}
}

func apiKeysPath(org strongroom.TenantID) string {
	return "/orgs/" + url.PathEscape(string(org)) + "/api-keys"
}

// apiKeysForms are the page's forms: a failure shows the page again with
// the form kept, or asks for a recent second factor.
func (c *Console) apiKeysForms() orgFormPage {
	return orgFormPage{template: "apikeys", path: apiKeysPath, view: c.apiKeysView, stepUp: true}
}

// apiKeyForm runs a create or rotate form and shows the new secret once.
func (c *Console) apiKeyForm(act func(ctx context.Context, r *http.Request, org strongroom.TenantID) (*service.NewAPIKey, error)) http.HandlerFunc {
	return orgForm(c, c.apiKeysForms(), act, func(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID, k *service.NewAPIKey) {
		v, ok := c.apiKeysView(w, r, ctx, org)
		if !ok {
			return
		}
		d := v.Data.(apiKeysData)
		d.Secret, d.New = k.Secret, &k.Key
		v.Data = d
		c.render(w, r, http.StatusOK, "apikeys", v)
	})
}

func (c *Console) createAPIKey(ctx context.Context, r *http.Request, org strongroom.TenantID) (*service.NewAPIKey, error) {
	if err := required(r, "name"); err != nil {
		return nil, err
	}
	in := service.APIKeyInput{Name: r.PostFormValue("name"), Role: strongroom.Role(r.PostFormValue("role"))}
	if d := r.PostFormValue("expires_days"); d != "" && d != "0" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 730 {
			return nil, fieldError("/expires_days", "must be a number of days from 1 to 730")
		}
		at := time.Now().Add(time.Duration(n) * 24 * time.Hour)
		in.ExpiresAt = &at
	}
	return c.svc.CreateAPIKey(ctx, org, in)
}

func (c *Console) rotateAPIKey(ctx context.Context, r *http.Request, org strongroom.TenantID) (*service.NewAPIKey, error) {
	hours, err := strconv.Atoi(r.PostFormValue("overlap_hours"))
	if err != nil || hours < 0 || hours > 720 {
		return nil, fieldError("/overlap_hours", "must be a number of hours from 0 to 720")
	}
	return c.svc.RotateAPIKey(ctx, org, strongroom.APIKeyID(r.PathValue("key")), time.Duration(hours)*time.Hour)
}

func (c *Console) revokeAPIKey() http.HandlerFunc {
	return c.formAction(c.apiKeysForms(), "key-revoked", func(ctx context.Context, r *http.Request, org strongroom.TenantID) error {
		return c.svc.RevokeAPIKey(ctx, org, strongroom.APIKeyID(r.PathValue("key")))
	})
}
