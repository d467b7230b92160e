// Package web serves Strongroom's browser pages: for now the start page with the
// API quickstart and its stylesheet, embedded in the binary. Pages use no inline
// script or style, so the strict Content-Security-Policy holds.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Handler serves the start page at / and static assets under /static/.
func Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		_ = pages.ExecuteTemplate(w, "index.html", map[string]string{"Base": scheme + "://" + r.Host})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_ = pages.ExecuteTemplate(w, "notfound.html", nil)
	})
	return mux
}
