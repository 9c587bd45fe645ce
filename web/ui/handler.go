package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// AssetPrefix is the URL path the dashboard's files are served under.
const AssetPrefix = "/ui/"

// contentSecurityPolicy allows only the dashboard's own files and API:
// no inline script or style, no frames, no form posts elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; " +
	"style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'none'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes of the embedded files, by extension, so that the answer
// does not depend on the host's mime.types.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler returns the dashboard's handler: the page at "/" and its files
// under AssetPrefix, GET and HEAD only, with strict security headers.
// Every other path answers 404. Responses are revalidated on each load
// (Cache-Control: no-cache) against a strong ETag of the content, so a
// new rackboot's files are never mixed with an old one's.
func Handler() http.Handler {
	assets, err := loadAssets(static)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return &handler{assets: assets}
}

// loadAssets reads every file under static/, keyed by its URL path.
func loadAssets(fsys fs.FS) (map[string]asset, error) {
	out := make(map[string]asset)
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("ui: %s: no content type for %q", p, path.Ext(p))
		}
		sum := sha256.Sum256(body)
		etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
		out[AssetPrefix+strings.TrimPrefix(p, "static/")] = asset{body, ct, etag}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: reading embedded files: %w", err)
	}
	if _, ok := out[AssetPrefix+"index.html"]; !ok {
		return nil, fmt.Errorf("ui: no index.html embedded")
	}
	return out, nil
}

type handler struct {
	assets map[string]asset // by URL path
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	p := r.URL.Path
	if p == "/" {
		p = AssetPrefix + "index.html"
	}
	a, ok := h.assets[p]
	switch {
	case !ok || p == AssetPrefix+"index.html" && r.URL.Path != "/":
		http.Error(w, "not found", http.StatusNotFound)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	default:
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	}
}

// setSecurityHeaders sets the headers every dashboard answer carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}
