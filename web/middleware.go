package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
)

// responseWriter remembers the status and counts the body bytes sent.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps sendfile for http.ServeContent: io.Copy reaches the
// underlying writer's ReadFrom.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs every request at Debug and turns a panic into a 500.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				s.recovered(rw, r, p)
			}
			s.log.Debug("http request", "method", r.Method, "path", r.URL.Path,
				"remote", r.RemoteAddr, "status", rw.status, "bytes", rw.bytes)
		}()
		next.ServeHTTP(rw, r)
	})
}

func (s *Server) recovered(w *responseWriter, r *http.Request, p any) {
	if p == http.ErrAbortHandler {
		panic(p) // net/http's own way to drop a connection
	}
	s.log.Error("panic serving http", "path", r.URL.Path, "remote", r.RemoteAddr,
		"err", fmt.Sprint(p), "stack", string(debug.Stack()))
	if w.status == 0 {
		writeError(w, r, http.StatusInternalServerError, "internal error")
	}
}

// notFound answers 404 in the form the path's clients read.
func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusNotFound, "not found")
}

// methodNotAllowed answers 405 with the Allow header RFC 9110 section
// 15.5.6 asks for, from the routes of the router that matched the path.
func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	answerNotAllowed(w, r, allowedMethods(r))
}

// methodNotAllowedHeadToo is methodNotAllowed for a router that answers
// HEAD wherever it answers GET (headAsGet).
func methodNotAllowedHeadToo(w http.ResponseWriter, r *http.Request) {
	allow := allowedMethods(r)
	if slices.Contains(allow, http.MethodGet) && !slices.Contains(allow, http.MethodHead) {
		allow = slices.Insert(allow, slices.Index(allow, http.MethodGet)+1, http.MethodHead)
	}
	answerNotAllowed(w, r, allow)
}

func answerNotAllowed(w http.ResponseWriter, r *http.Request, allow []string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, r, http.StatusMethodNotAllowed, "method not allowed")
}

// allowedMethods lists the methods r's path is routed for, walking the
// whole routing tree: chi's own lookup stops at a mounted subrouter.
func allowedMethods(r *http.Request) []string {
	rc := chi.RouteContext(r.Context())
	if rc == nil || rc.Routes == nil {
		return nil
	}
	found := map[string]bool{}
	chi.Walk(rc.Routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if routeMatches(route, r.URL.Path) {
			found[method] = true
		}
		return nil
	})
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost,
		http.MethodPut, http.MethodDelete} {
		if found[m] {
			allow = append(allow, m)
		}
	}
	return allow
}

// routeMatches reports whether path fits chi route pattern route, segment
// by segment: "{name}" takes one non-empty segment, a final "*" the rest.
func routeMatches(route, path string) bool {
	rs := strings.Split(strings.TrimSuffix(route, "/"), "/")
	ps := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for i, seg := range rs {
		switch {
		case seg == "*":
			return true
		case i >= len(ps):
			return false
		case strings.HasPrefix(seg, "{"):
			if ps[i] == "" {
				return false
			}
		case seg != ps[i]:
			return false
		}
	}
	return len(rs) == len(ps)
}

// headAsGet routes HEAD requests as GET ones: every GET route answers
// HEAD too, net/http dropping the body (RFC 9110 section 9.3.2).
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc := chi.RouteContext(r.Context()); rc != nil && r.Method == http.MethodHead {
			rc.RouteMethod = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

// isAPI reports whether r is for the JSON API, which answers errors in
// JSON; the boot paths answer them in plain text.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// writeError answers code with msg: {"error": msg, "code": <stable code
// of the status>} under /api/, text elsewhere.
func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if isAPI(r) {
		writeAPIError(w, code, errorCode(code), msg)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// writeJSON answers code with v as JSON, encoded before any byte is sent.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"error": "encoding the response failed", "code": "internal"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}
