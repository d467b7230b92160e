package web

import (
	"net/http"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/trust"
)

// The public trust page (/trust): the claims of service.TrustPage, grouped by
// section, each with the setting or evidence it reads. It is the same for
// everyone (the visitor is not looked up), so browsers and proxies may keep
// it for a minute, as long as the service keeps the computed claims.

func (c *Console) trustRoutes() {
	c.mux.HandleFunc("GET /trust", c.trustPage)
	c.mux.HandleFunc("/trust", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed: /trust is read with GET", http.StatusMethodNotAllowed)
	})
}

type trustView struct {
	Page     *trust.Page
	Sections []trust.Section
}

func (c *Console) trustPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		c.errorPage(w, r, strongroom.Errorf(strongroom.EINVALID, "this page takes no query parameters"))
		return
	}
	p, err := c.svc.TrustPage(r.Context())
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "trust", &view{Title: "Trust and security", Wide: true, CacheControl: "public, max-age=60",
		Data: trustView{Page: p, Sections: p.Sections()}})
}
