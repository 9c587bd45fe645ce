package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

// Tokens of testGuard.
const (
	operatorToken = "test-operator"
	viewerToken   = "test-viewer"
)

// testGuard lets through the two fixed tokens: the operator's for any
// method, the viewer's for reads.
type testGuard struct{}

func (testGuard) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer " + operatorToken:
		case "Bearer " + viewerToken:
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				writeError(w, r, http.StatusForbidden, "viewers may only read")
				return
			}
		default:
			writeError(w, r, http.StatusUnauthorized, "no valid token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (testGuard) Login(w http.ResponseWriter, r *http.Request)  { w.WriteHeader(http.StatusNoContent) }
func (testGuard) Logout(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
func (testGuard) Session(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]string{"name": "t"})
}

// revokedTokens holds the tokens a test took back: testGuard.Still
// refuses them.
var revokedTokens sync.Map

func (testGuard) Still(r *http.Request) bool {
	_, revoked := revokedTokens.Load(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	return !revoked
}

func (testGuard) Who(r *http.Request) string {
	if r.Header.Get("Authorization") == "Bearer "+viewerToken {
		return "viewer"
	}
	return "operator"
}

// newTestAdmin returns the admin side of s with testGuard, unless cfg
// names another guard.
func newTestAdmin(t *testing.T, s *Server, cfg AdminConfig) *Admin {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Guard == nil {
		cfg.Guard = testGuard{}
	}
	a, err := NewAdmin(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestListenersSplitTheRoutes(t *testing.T) {
	e := newEnv(t)
	admin := newTestAdmin(t, e.srv, AdminConfig{
		UI:      http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("dashboard")) }),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics")) }),
	})
	tests := []struct {
		name, method, target, auth string
		admin                      bool
		want                       int
	}{
		{"boot: no API on the boot listener", "GET", "/api/v1/machines", "", false, http.StatusNotFound},
		{"boot: no dashboard", "GET", "/", "", false, http.StatusNotFound},
		{"boot: no metrics", "GET", "/metrics", "", false, http.StatusNotFound},
		{"boot: the chain script", "GET", "/boot.ipxe", "", false, http.StatusOK},
		{"admin: no boot script", "GET", "/boot.ipxe", operatorToken, true, http.StatusNotFound},
		{"admin: no callback", "POST", "/api/v1/machines/02:00:00:00:00:01/callback", operatorToken, true, http.StatusNotFound},
		{"admin: API needs a token", "GET", "/api/v1/machines", "", true, http.StatusUnauthorized},
		{"admin: API with a wrong token", "GET", "/api/v1/machines", "nope", true, http.StatusUnauthorized},
		{"admin: viewer reads", "GET", "/api/v1/machines", viewerToken, true, http.StatusOK},
		{"admin: viewer may not act", "POST", "/api/v1/machines/node1/power", viewerToken, true, http.StatusForbidden},
		{"admin: metrics need a token", "GET", "/metrics", "", true, http.StatusUnauthorized},
		{"admin: metrics for a viewer", "GET", "/metrics", viewerToken, true, http.StatusOK},
		{"admin: health needs no token", "GET", "/healthz", "", true, http.StatusOK},
		{"admin: readiness needs no token", "GET", "/readyz", "", true, http.StatusOK},
		{"admin: the dashboard's page is open", "GET", "/", "", true, http.StatusOK},
		{"admin: session needs a token", "GET", "/api/v1/session", "", true, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.RemoteAddr = remote1
			if tt.auth != "" {
				r.Header.Set("Authorization", "Bearer "+tt.auth)
			}
			w := httptest.NewRecorder()
			h := e.srv.BootHandler()
			if tt.admin {
				h = admin.Handler()
			}
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("%s %s = %d, want %d (body %q)", tt.method, tt.target, w.Code, tt.want, w.Body)
			}
			if tt.admin && w.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("admin answer lacks X-Frame-Options: %v", w.Header())
			}
		})
	}
}

func TestAdminStampsTheAuthenticatedActor(t *testing.T) {
	e := newEnv(t)
	var got string
	e.srv.SetBMC(bmcFunc(func(who string) { got = who }))
	w := e.do(t, request{method: "POST", target: "/api/v1/machines/node1/power",
		body: `{"action":"status"}`, header: http.Header{"X-Rackboot-Actor": {"mallory"}}})
	if w.Code != http.StatusOK {
		t.Fatalf("power status = %d %s", w.Code, w.Body)
	}
	if !strings.HasPrefix(got, "operator via api ") {
		t.Errorf("BMC saw the caller as %q, want the token's name, not the client's header", got)
	}
}

func TestReadyzSaysWhatIsWrong(t *testing.T) {
	e := newEnv(t)
	admin := newTestAdmin(t, e.srv, AdminConfig{Ready: func() error { return errors.New("dhcp not listening") }})
	w := httptest.NewRecorder()
	admin.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "dhcp not listening") {
		t.Errorf("GET /readyz = %d %q, want 503 naming the reason", w.Code, w.Body)
	}
}

func TestAdminRefusesToServeWithoutTLS(t *testing.T) {
	e := newEnv(t)
	if err := newTestAdmin(t, e.srv, AdminConfig{}).Run(t.Context()); err == nil {
		t.Error("Run without a certificate served")
	}
	if _, err := NewAdmin(e.srv, AdminConfig{Addr: "127.0.0.1:0"}); err == nil {
		t.Error("NewAdmin without a guard succeeded")
	}
	if _, err := NewAdmin(e.srv, AdminConfig{Addr: "8443", Guard: testGuard{}}); err == nil {
		t.Error("NewAdmin with a bad address succeeded")
	}
}

// bmcFunc is a BMC that tells who asked and succeeds.
type bmcFunc func(who string)

func (f bmcFunc) Power(_ context.Context, m inventory.Machine, a bmc.Action, who string) (bmc.Result, error) {
	f(who)
	return bmc.Result{Machine: m.Name, Action: string(a)}, nil
}

func (f bmcFunc) BootNetwork(_ context.Context, m inventory.Machine, _ bool, who string) (bmc.Result, error) {
	f(who)
	return bmc.Result{Machine: m.Name, Action: "pxe-once"}, nil
}

// Every GET route of the admin listener answers HEAD, and a 405 names the
// methods the path really takes.
func TestAdminHeadAndAllow(t *testing.T) {
	e := newEnv(t)
	admin := newTestAdmin(t, e.srv, AdminConfig{
		UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("dashboard")) }),
	})
	do := func(method, target string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.RemoteAddr = remote1
		r.Header.Set("Authorization", "Bearer "+operatorToken)
		w := httptest.NewRecorder()
		admin.Handler().ServeHTTP(w, r)
		return w
	}
	for _, target := range []string{"/api/v1/machines", "/api/v1/machines/node1", "/healthz", "/readyz", "/"} {
		if w := do(http.MethodHead, target); w.Code != http.StatusOK {
			t.Errorf("HEAD %s = %d, want 200", target, w.Code)
		}
	}
	tests := []struct{ method, target, allow string }{
		{http.MethodPut, "/api/v1/machines", "GET, HEAD, POST"},
		{http.MethodPost, "/api/v1/machines/node1/timeline", "GET, HEAD"},
		{http.MethodDelete, "/healthz", "GET, HEAD"},
	}
	for _, tt := range tests {
		w := do(tt.method, tt.target)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s = %d Allow %q, want 405 Allow %q", tt.method, tt.target, w.Code,
				w.Header().Get("Allow"), tt.allow)
		}
	}
}

func TestReadyzAndStatusSayTheStoreIsDegraded(t *testing.T) {
	tests := []struct {
		name     string
		status   Status
		wantCode int
		wantBody readiness
	}{
		{"healthy", Status{Store: "kubernetes", Replica: "a", Leader: "b"}, http.StatusOK,
			readiness{Ready: true}},
		{"degraded", Status{Store: "kubernetes", Degraded: true, Reason: "api server unreachable",
			Replica: "a", Leader: "b"}, http.StatusServiceUnavailable,
			readiness{Reason: "store degraded: api server unreachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			admin := newTestAdmin(t, e.srv, AdminConfig{Status: func() Status { return tt.status }})
			w := httptest.NewRecorder()
			admin.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
			var got readiness
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != tt.wantCode {
				t.Fatalf("GET /readyz = %d %q (%v), want %d and JSON", w.Code, w.Body, err, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantBody, got); diff != "" {
				t.Errorf("GET /readyz body (-want +got):\n%s", diff)
			}
			w = httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/api/v1/status", nil)
			r.Header.Set("Authorization", "Bearer "+viewerToken)
			admin.Handler().ServeHTTP(w, r)
			var st Status
			if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || w.Code != http.StatusOK {
				t.Fatalf("GET /api/v1/status = %d %q (%v), want 200 and JSON", w.Code, w.Body, err)
			}
			if diff := cmp.Diff(tt.status, st); diff != "" {
				t.Errorf("GET /api/v1/status (-want +got):\n%s", diff)
			}
			var fields map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &fields); err != nil || fields["queued_writes"] != 0.0 {
				t.Errorf("GET /api/v1/status queued_writes = %v (%v), want 0 present", fields["queued_writes"], err)
			}
		})
	}
}
