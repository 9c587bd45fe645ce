package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/internal/redfishsim"
	"github.com/rackboot/rackboot/inventory"
)

const bmcPass = "web-Bmc-pw-41"

// bmcServer is a server over a catalog whose node1 has a Redfish BMC at
// sim, with b attached (a real Controller when b is nil).
func bmcServer(t *testing.T, sim *redfishsim.Server, b BMC) (*Server, *inventory.Inventory) {
	t.Helper()
	t.Setenv("RACKBOOT_TEST_WEB_BMC", "admin:"+bmcPass)
	doc := fmt.Sprintf(`
profiles:
  - {name: tiny, kernel: tiny/vmlinuz}
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: tiny
    arch: x64-efi
    bmc: {address: %s, port: %d, protocol: redfish, credentials_env: RACKBOOT_TEST_WEB_BMC}
  - name: node2
    macs: ["02:00:00:00:00:02"]
    profile: tiny
`, sim.Host(), sim.Port())
	cat, err := inventory.ParseCatalog([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	inv := inventory.New(cat, store)
	if b == nil {
		ctl, err := bmc.New(bmc.Config{RootCAs: sim.CertPool(), Timeout: 5 * time.Second}, inv, nil)
		if err != nil {
			t.Fatal(err)
		}
		b = ctl
	}
	srv, err := NewServer(Config{Addr: "127.0.0.1:0", PublicURL: "http://192.0.2.10:8080",
		AssetsDir: makeAssets(t), LoaderDirs: makeLoaders(t)}, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b != nil {
		srv.SetBMC(b)
	}
	return srv, inv
}

func post(t *testing.T, srv *Server, target, body string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.RemoteAddr = remote1
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	routeTest(t, srv, r).ServeHTTP(w, r)
	return w
}

func TestBMCThroughTheAPI(t *testing.T) {
	sim := redfishsim.New(redfishsim.Config{User: "admin", Password: bmcPass})
	t.Cleanup(sim.Close)
	srv, inv := bmcServer(t, sim, nil)
	// The caller is the token's owner, whatever the client claims.
	mallory := http.Header{"X-Rackboot-Actor": {"mallory"}}

	w := post(t, srv, "/api/v1/machines/node1/power", `{"action": "on"}`, mallory)
	var res BMCResult
	if err := json.Unmarshal(w.Body.Bytes(), &res); w.Code != http.StatusOK || err != nil {
		t.Fatalf("POST power on = %d %s", w.Code, w.Body)
	}
	if res.Machine != "node1" || res.Power != bmc.PowerOn || res.Protocol != inventory.BMCRedfish || sim.Power() != "On" {
		t.Errorf("POST power on = %+v, bmc power %s; want node1 on via redfish", res, sim.Power())
	}

	w = post(t, srv, "/api/v1/machines/02-00-00-00-00-01/pxe-once", "", nil)
	if w.Code != http.StatusOK || sim.Override() != (redfishsim.Override{Enabled: "Once", Target: "Pxe", Mode: "UEFI"}) {
		t.Errorf("POST pxe-once by mac = %d %s, override %+v; want 200, Once Pxe UEFI", w.Code, w.Body, sim.Override())
	}
	w = post(t, srv, "/api/v1/machines/node1/pxe-once", `{"persistent": true}`, nil)
	if w.Code != http.StatusOK || sim.Override().Enabled != "Continuous" {
		t.Errorf("POST pxe-once persistent = %d %s, override %+v; want 200, Continuous", w.Code, w.Body, sim.Override())
	}

	evs, _ := inv.Timeline("02:00:00:00:00:01")
	if len(evs) != 3 || !strings.HasPrefix(evs[0].Detail, "by operator via api "+ip1+": on via redfish: ok") ||
		evs[1].Kind != inventory.EventBMCBootDevice || !strings.HasPrefix(evs[1].Detail, "by operator via api "+ip1+": pxe-once") {
		t.Errorf("timeline = %+v, want power on, then pxe-once, both by the token's owner", evs)
	}
	for _, e := range evs {
		if strings.Contains(e.Detail, bmcPass) {
			t.Errorf("event holds the password: %q", e.Detail)
		}
	}
}

func TestBMCNotConfigured(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{"/api/v1/machines/node1/power", "/api/v1/machines/node1/pxe-once"} {
		w := e.do(t, request{method: http.MethodPost, target: target, body: `{"action":"on"}`})
		if w.Code != http.StatusNotImplemented || !strings.Contains(w.Body.String(), "no BMC configured") {
			t.Errorf("POST %s without a BMC = %d %s, want 501 no BMC configured", target, w.Code, w.Body)
		}
	}
}

// fakeBMC answers every operation with err.
type fakeBMC struct{ err error }

func (f fakeBMC) Power(_ context.Context, m inventory.Machine, a bmc.Action, _ string) (bmc.Result, error) {
	return bmc.Result{Machine: m.Name, Action: string(a)}, f.err
}

func (f fakeBMC) BootNetwork(_ context.Context, m inventory.Machine, _ bool, _ string) (bmc.Result, error) {
	return bmc.Result{Machine: m.Name, Action: "pxe-once"}, f.err
}

func TestBMCAPIErrors(t *testing.T) {
	sim := redfishsim.New(redfishsim.Config{User: "admin", Password: bmcPass})
	t.Cleanup(sim.Close)
	tests := []struct {
		name, target, body string
		err                error
		code               int
		text               string
	}{
		{"unknown machine", "/api/v1/machines/node9/power", `{"action":"on"}`, nil, 404, `called \"node9\"`},
		{"bad action", "/api/v1/machines/node1/power", `{"action":"explode"}`, nil, 400, "not status, on, off, cycle or reset"},
		{"no body", "/api/v1/machines/node1/power", "", nil, 400, "a JSON object is required"},
		{"unknown field", "/api/v1/machines/node1/pxe-once", `{"forever": true}`, nil, 400, "unknown field"},
		{"too big", "/api/v1/machines/node1/power", `{"action":"` + strings.Repeat("x", 5000) + `"}`, nil, 400, "too large"},
		{"no bmc", "/api/v1/machines/node2/power", `{"action":"on"}`, fmt.Errorf("node2: %w", bmc.ErrNoBMC), 409, "no bmc"},
		{"credentials", "/api/v1/machines/node1/power", `{"action":"on"}`, fmt.Errorf("x: %w", bmc.ErrCredentials), 500, "credentials unavailable"},
		{"timeout", "/api/v1/machines/node1/power", `{"action":"status"}`, fmt.Errorf("x: %w", bmc.ErrTimeout), 504, "did not answer"},
		{"not kept", "/api/v1/machines/node1/pxe-once", "", fmt.Errorf("x: %w", bmc.ErrNotKept), 502, "did not keep"},
		{"other bmc failure", "/api/v1/machines/node1/power", `{"action":"cycle"}`, errors.New("bmc said no"), 502, "bmc said no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := bmcServer(t, sim, fakeBMC{tt.err})
			w := post(t, srv, tt.target, tt.body, nil)
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.text) {
				t.Errorf("POST %s = %d %s, want %d with %q", tt.target, w.Code, w.Body, tt.code, tt.text)
			}
		})
	}
}
