package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
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
	path := r.URL.RawPath // what chi routes on
	if path == "" {
		path = r.URL.Path
	}
	var allow []string
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.Routes != nil {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost,
			http.MethodPut, http.MethodDelete} {
			if rc.Routes.Match(chi.NewRouteContext(), m, path) {
				allow = append(allow, m)
			}
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, r, http.StatusMethodNotAllowed, "method not allowed")
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
