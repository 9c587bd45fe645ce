package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Guard authenticates the admin listener's requests; package auth
// provides one.
type Guard interface {
	// Require passes on the requests whose credential allows them and
	// answers the others itself (401, 403, 429).
	Require(next http.Handler) http.Handler
	// Login signs a user in (POST /login); Logout signs them out (POST
	// /logout); Session describes the caller's session (GET
	// /api/v1/session).
	Login(w http.ResponseWriter, r *http.Request)
	Logout(w http.ResponseWriter, r *http.Request)
	Session(w http.ResponseWriter, r *http.Request)
	// Who names the caller of a request that Require let through.
	Who(r *http.Request) string
	// Still reports whether the credential a request was let through
	// with still allows it: false once its token is removed or its
	// session ends. Long-lived answers (the event stream) ask it again.
	Still(r *http.Request) bool
}

// AdminConfig is the configuration of the admin listener.
type AdminConfig struct {
	// Addr is the TCP address to listen on, such as ":8443".
	Addr string
	// TLS carries the listener's certificate. Run refuses to serve
	// without it: the admin side carries tokens and session cookies.
	TLS *tls.Config
	// Guard authenticates every request but the health checks and the
	// dashboard's static files. Required.
	Guard Guard
	// UI serves the dashboard at "/"; nil serves no dashboard.
	UI http.Handler
	// Metrics serves /metrics to viewers; nil serves none.
	Metrics http.Handler
	// Ready reports why rackboot is not ready to serve, for /readyz; nil
	// checks only the store.
	Ready func() error
	// Status tells of the store and the leader for GET /api/v1/status;
	// a degraded store also fails /readyz. Nil means the embedded store
	// on a rackboot that always leads.
	Status func() Status
}

// Admin is the admin listener: the REST API, the dashboard, /metrics and
// the health checks, over HTTPS and behind a Guard.
type Admin struct {
	srv    *Server
	cfg    AdminConfig
	router *chi.Mux
}

// NewAdmin returns the admin side of s.
func NewAdmin(s *Server, cfg AdminConfig) (*Admin, error) {
	if cfg.Guard == nil {
		return nil, errors.New("web: admin listener: no Guard")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("web: admin listener: Addr: %w", err)
	}
	a := &Admin{srv: s, cfg: cfg}
	a.router = a.routes()
	return a, nil
}

func (a *Admin) routes() *chi.Mux {
	s := a.srv
	r := chi.NewRouter()
	r.Use(s.observe, secureHeaders, headAsGet)
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowedHeadToo)
	r.Get("/healthz", healthz)
	r.Get("/readyz", a.readyz)
	r.Post("/login", a.cfg.Guard.Login)
	r.Post("/logout", a.cfg.Guard.Logout)
	r.Group(func(r chi.Router) {
		r.Use(a.cfg.Guard.Require, a.guarded)
		r.Get("/api/v1/session", a.cfg.Guard.Session)
		r.Get("/api/v1/status", a.status)
		s.apiRoutes(r)
		if a.cfg.Metrics != nil {
			r.Handle("/metrics", a.cfg.Metrics)
		}
	})
	if a.cfg.UI != nil {
		r.Get("/", a.cfg.UI.ServeHTTP)
		r.Get("/ui/*", a.cfg.UI.ServeHTTP)
		r.Head("/ui/*", a.cfg.UI.ServeHTTP)
	}
	return r
}

// Handler returns the admin listener's HTTP handler, for tests and for
// callers that run their own http.Server.
func (a *Admin) Handler() http.Handler { return a.router }

// Run listens on AdminConfig.Addr and serves HTTPS until ctx ends, then
// shuts down like Server.Run.
func (a *Admin) Run(ctx context.Context) error {
	if a.cfg.TLS == nil {
		return errors.New("admin listener: no TLS certificate")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", a.cfg.Addr, err)
	}
	return a.Serve(ctx, tls.NewListener(ln, a.cfg.TLS))
}

// Serve serves the admin routes on ln, which the caller wraps in TLS,
// until ctx ends. It closes ln.
func (a *Admin) Serve(ctx context.Context, ln net.Listener) error {
	return serveHTTP(ctx, ln, a.router, "admin", a.srv.cfg.shutdownTimeout(), a.srv.log,
		a.srv.stopStreams)
}

// guarded leaves in each request the guard let through who its caller is,
// for the timeline's "by", and a way to check the credential again, for
// long-lived answers (see allowed).
func (a *Admin) guarded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := caller{name: a.cfg.Guard.Who(r), still: func() bool { return a.cfg.Guard.Still(r) }}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// caller is who a request that passed the guard comes from.
type caller struct {
	name  string
	still func() bool
}

// callerKey keys the caller guarded leaves in a request's context.
type callerKey struct{}

// allowed reports whether r's credential still allows it. Requests that
// did not come through the admin listener's guard have nothing to lose.
func allowed(r *http.Request) bool {
	c, ok := r.Context().Value(callerKey{}).(caller)
	return !ok || c.still()
}

// secureHeaders sets the headers every admin answer carries: no framing,
// no sniffing, no referrer. No Strict-Transport-Security: it would bind
// the whole host, the plain-HTTP boot listener included, to HTTPS in the
// browsers of operators who trusted a self-signed certificate.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// healthz answers the liveness check: the process serves HTTP.
func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}
