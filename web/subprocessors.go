package web

import (
	"net/http"

	"strings"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/service"
)

// Subprocessors (INC-06; docs/trust.md) for operators: the list, adding one
// with its effective date, and scheduling one's end. The service enforces
// the notice period and audits every change.

type subprocessorsData struct {
	Items []strongroom.Subprocessor
	Now   time.Time
}

func (c *Console) subprocessorsView(w http.ResponseWriter, r *http.Request) (*view, bool) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return nil, false
	}
	list, err := c.svc.Subprocessors(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	return &view{Title: "Subprocessors", Nav: "subprocessors", Wide: true, Data: subprocessorsData{Items: list, Now: time.Now()}}, true
}

func (c *Console) subprocessorsPage(w http.ResponseWriter, r *http.Request) {
	v, ok := c.subprocessorsView(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "subprocessors", v)
}

// subprocessorForm runs the page's forms: a refusal shows the page again
// with the message beside its field and the typed values kept.
func (c *Console) subprocessorForm(flash string, do func(r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := c.enterOperator(w, r); !ok {
			return
		}
		err := readForm(w, r)
		if err == nil {
			err = do(r)
		}
		if err != nil {
			v, ok := c.subprocessorsView(w, r)
			if !ok {
				return
			}
			v.Form = keep(r)
			c.fail(w, r, "subprocessors", v, err)
			return
		}
		redirect(w, r, "/operator/subprocessors", flash)
	}
}

// formDate reads a date input (YYYY-MM-DD, midnight UTC).
func formDate(r *http.Request, name string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(r.PostFormValue(name)))
	if err != nil {
		return t, fieldError("/"+name, "must be a date such as 2027-01-31")
	}
	return t, nil
}

func commaList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (c *Console) createSubprocessor(r *http.Request) error {
	ctx, err := c.operatorContext(r)
	if err != nil {
		return err
	}
	at, err := formDate(r, "effective_at")
	if err != nil {
		return err
	}
	_, err = c.svc.CreateSubprocessor(ctx, service.SubprocessorInput{Name: r.PostFormValue("name"), Purpose: r.PostFormValue("purpose"),
		Location: r.PostFormValue("location"), Certifications: commaList(r.PostFormValue("certifications")),
		DataCategories: commaList(r.PostFormValue("data_categories")), EffectiveAt: at})
	return err
}

func (c *Console) endSubprocessor(r *http.Request) error {
	ctx, err := c.operatorContext(r)
	if err != nil {
		return err
	}
	at, err := formDate(r, "ends_at")
	if err != nil {
		return err
	}
	_, err = c.svc.EndSubprocessor(ctx, r.PathValue("subprocessor"), at)
	return err
}
