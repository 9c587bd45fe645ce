package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, method, target string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, r)
	return w
}

func TestHandlerServesFiles(t *testing.T) {
	tests := []struct {
		name, target, ctype, contains string
	}{
		{"index", "/", "text/html; charset=utf-8", `<script type="module" src="/ui/js/app.js">`},
		{"style", "/ui/app.css", "text/css; charset=utf-8", ".badge"},
		{"module", "/ui/js/app.js", "text/javascript; charset=utf-8", "import * as api"},
		{"icon", "/ui/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, http.MethodGet, tt.target, nil)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != tt.ctype {
				t.Fatalf("GET %s = %d %q, want 200 %q", tt.target, w.Code, w.Header().Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("GET %s body lacks %q", tt.target, tt.contains)
			}
			checkSecurityHeaders(t, w.Header())
		})
	}
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy = %q, want it to hold %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy = %q allows inline or eval", csp)
	}
}

func TestHandlerRefuses(t *testing.T) {
	tests := []struct {
		name, method, target string
		code                 int
	}{
		{"unknown file", http.MethodGet, "/ui/nope.js", http.StatusNotFound},
		{"index by name", http.MethodGet, "/ui/index.html", http.StatusNotFound},
		{"folder", http.MethodGet, "/ui/js/", http.StatusNotFound},
		{"escape", http.MethodGet, "/ui/../handler.go", http.StatusNotFound},
		{"other path", http.MethodGet, "/static/index.html", http.StatusNotFound},
		{"post", http.MethodPost, "/", http.StatusMethodNotAllowed},
		{"delete", http.MethodDelete, "/ui/app.css", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, tt.method, tt.target, nil)
			if w.Code != tt.code {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.target, w.Code, tt.code)
			}
			checkSecurityHeaders(t, w.Header())
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	w := serve(t, http.MethodGet, "/ui/app.css", nil)
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /ui/app.css: ETag %q, Cache-Control %q; want an ETag and no-cache",
			etag, w.Header().Get("Cache-Control"))
	}
	w = serve(t, http.MethodGet, "/ui/app.css", http.Header{"If-None-Match": {etag}})
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("GET /ui/app.css If-None-Match its ETag = %d with %d bytes, want 304 and none", w.Code, w.Body.Len())
	}
	w = serve(t, http.MethodHead, "/", nil)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD / = %d with %d bytes, want 200 and none", w.Code, w.Body.Len())
	}
}

// The page must follow its own Content-Security-Policy and keep data out
// of the HTML parser: no inline script, style or event handler, nothing
// from elsewhere, and no innerHTML-like sink in the scripts.
func TestStaticFilesFollowThePolicy(t *testing.T) {
	banned := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"inline script", regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)},
		{"script without src", regexp.MustCompile(`<script(?:\s(?:[^>s]|s[^r])*)?>`)},
		{"style element or attribute", regexp.MustCompile(`<style|\sstyle=`)},
		{"inline handler", regexp.MustCompile(`\son[a-z]+=`)},
		{"remote resource", regexp.MustCompile(`(?:src|href)="(?:https?:)?//`)},
		{"HTML sink", regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function`)},
	}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		for _, b := range banned {
			if loc := b.re.FindIndex(body); loc != nil {
				t.Errorf("%s has %s: %q", p, b.what, body[loc[0]:loc[1]])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
