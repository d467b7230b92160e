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

// apiKeyForm runs a create or rotate form and shows the new secret once.
func (c *Console) apiKeyForm(act func(ctx context.Context, r *http.Request, org strongroom.TenantID) (*service.NewAPIKey, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, org, ok := c.enterOrg(w, r)
		if !ok {
			return
		}
		if err := readForm(w, r); err != nil {
			c.errorPage(w, r, err)
			return
		}
		k, err := act(ctx, r, org)
		if err != nil {
			c.stepUpOr(w, r, err, func() {
				if v, ok := c.apiKeysView(w, r, ctx, org); ok {
					v.Form = keep(r)
					c.fail(w, r, "apikeys", v, err)
				}
			})
			return
		}
		v, ok := c.apiKeysView(w, r, ctx, org)
		if !ok {
			return
		}
		d := v.Data.(apiKeysData)
		d.Secret, d.New = k.Secret, &k.Key
		v.Data = d
		c.render(w, r, http.StatusOK, "apikeys", v)
	}
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

func (c *Console) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	if err := c.svc.RevokeAPIKey(ctx, org, strongroom.APIKeyID(r.PathValue("key"))); err != nil {
		c.stepUpOr(w, r, err, func() {
			if v, ok := c.apiKeysView(w, r, ctx, org); ok {
				c.fail(w, r, "apikeys", v, err)
			}
		})
		return
	}
	redirect(w, r, "/orgs/"+url.PathEscape(string(org))+"/api-keys", "key-revoked")
}
