package web

import (
	"context"
	"net/http"

	"strongroom.dev/strongroom"
)

// orgFormPage is an organization page whose forms (one for the page, one per
// row) post back to it: a failed form shows the page again with the form
// kept and its messages beside the row's fields; a successful one sends the
// browser back to the page with a flash.
type orgFormPage struct {
	template string
	path     func(strongroom.TenantID) string
	view     func(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID) (*view, bool)
	// rowParam is the path value naming the row a form is about ("client",
	// "user"); rowField the form field the template matches rows on.
	rowParam, rowField string
	// stepUp: an action that needs a recent second factor sends the browser
	// to the step-up page instead of showing the error.
	stepUp bool
}

// formAction runs one of p's forms with act; on success the browser goes
// back to the page with flash.
func (c *Console) formAction(p orgFormPage, flash string, act func(ctx context.Context, r *http.Request, org strongroom.TenantID) error) http.HandlerFunc {
	return orgForm(c, p, func(ctx context.Context, r *http.Request, org strongroom.TenantID) (struct{}, error) {
		return struct{}{}, act(ctx, r, org)
	}, func(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID, _ struct{}) {
		redirect(w, r, p.path(org), flash)
	})
}

// orgForm runs one of p's forms with act and answers its result with done.
func orgForm[T any](c *Console, p orgFormPage, act func(ctx context.Context, r *http.Request, org strongroom.TenantID) (T, error),
	done func(w http.ResponseWriter, r *http.Request, ctx context.Context, org strongroom.TenantID, result T)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, org, ok := c.enterOrg(w, r)
		if !ok {
			return
		}
		if err := readForm(w, r); err != nil {
			c.errorPage(w, r, err)
			return
		}
		res, err := act(ctx, r, org)
		if err == nil {
			done(w, r, ctx, org, res)
			return
		}
		again := func() {
			if v, ok := p.view(w, r, ctx, org); ok {
				v.Form = keep(r)
				if p.rowParam != "" {
					if row := r.PathValue(p.rowParam); row != "" {
						v.Form.Set(p.rowField, row)
					}
				}
				c.fail(w, r, p.template, v, err)
			}
		}
		if p.stepUp {
			c.stepUpOr(w, r, err, again)
			return
		}
		again()
	}
}
