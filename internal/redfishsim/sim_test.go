package redfishsim

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	user = "admin"
	pass = "sim-pw-6b1f"
)

// redfishtool runs Debian's redfishtool against sim with args, with
// session or basic authentication, and returns its output.
func redfishtool(t *testing.T, sim *Server, auth string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("redfishtool"); err != nil {
		t.Skip("redfishtool not installed (Debian package redfishtool)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := []string{"-r", sim.Host() + ":" + strconv.Itoa(sim.Port()),
		"-u", user, "-p", pass, "-S", "Always", "-A", auth}
	out, err := exec.CommandContext(ctx, "redfishtool", append(base, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redfishtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRedfishtool drives the emulator with a client that was not written
// against it.
func TestRedfishtool(t *testing.T) {
	sim := New(Config{User: user, Password: pass})
	t.Cleanup(sim.Close)
	for _, auth := range []string{"Session", "Basic"} {
		t.Run(auth, func(t *testing.T) {
			var root struct{ RedfishVersion string }
			decode(t, redfishtool(t, sim, auth, "root"), &root)
			if root.RedfishVersion != "1.11.0" {
				t.Errorf("root RedfishVersion = %q, want 1.11.0", root.RedfishVersion)
			}
			redfishtool(t, sim, auth, "Systems", "-I", "1", "reset", "ForceOff")
			redfishtool(t, sim, auth, "Systems", "-I", "1", "setBootOverride", "Once", "Pxe")
			var sys struct {
				PowerState string
				Boot       struct{ BootSourceOverrideEnabled, BootSourceOverrideTarget string }
			}
			decode(t, redfishtool(t, sim, auth, "Systems", "-1", "get"), &sys)
			if sys.PowerState != PowerOff || sys.Boot.BootSourceOverrideEnabled != "Once" ||
				sys.Boot.BootSourceOverrideTarget != "Pxe" {
				t.Errorf("system = %+v, want Off with a Once Pxe override", sys)
			}
			redfishtool(t, sim, auth, "Systems", "-I", "1", "reset", "On")
			if got := sim.Boots(); got[len(got)-1] != "Pxe UEFI" || sim.Override().Enabled != "Disabled" {
				t.Errorf("after reset On: boots %v, override %+v; want Pxe UEFI booted, override used up", got, sim.Override())
			}
			if n := sim.OpenSessions(); n != 0 {
				t.Errorf("redfishtool left %d sessions open", n)
			}
		})
	}
	if sim.Logins() == 0 {
		t.Error("redfishtool never logged in with a session")
	}
}

func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decoding redfishtool output: %v\n%s", err, out)
	}
}

// client talks to sim as a test would, trusting its certificate.
func client(sim *Server) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: sim.CertPool()}}}
}

func do(t *testing.T, sim *Server, method, path, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, sim.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client(sim).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), resp.Header
}

func login(t *testing.T, sim *Server, password string) (int, string, http.Header) {
	t.Helper()
	body := `{"UserName":"` + user + `","Password":"` + password + `"}`
	return do(t, sim, http.MethodPost, sessionsPath, body, nil)
}

func TestSessions(t *testing.T) {
	sim := New(Config{User: user, Password: pass, MaxSessions: 2})
	t.Cleanup(sim.Close)
	var codes []int
	var tokens []string
	for range 3 {
		code, _, h := login(t, sim, pass)
		codes, tokens = append(codes, code), append(tokens, h.Get("X-Auth-Token"))
	}
	if diff := cmp.Diff([]int{201, 201, 503}, codes); diff != "" {
		t.Errorf("login codes with 2 sessions allowed (-want +got):\n%s", diff)
	}
	code, _, _ := do(t, sim, http.MethodDelete, sessionsPath+"/1", "", map[string]string{"X-Auth-Token": tokens[0]})
	if code != http.StatusNoContent || sim.OpenSessions() != 1 {
		t.Errorf("logout = %d with %d sessions left, want 204 and 1", code, sim.OpenSessions())
	}
	if code, _, _ := do(t, sim, http.MethodGet, systemPath, "", map[string]string{"X-Auth-Token": tokens[0]}); code != http.StatusUnauthorized {
		t.Errorf("GET with a logged-out token = %d, want 401", code)
	}
	if code, _, _ := login(t, sim, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("login with a wrong password = %d, want 401", code)
	}
}

func TestFaults(t *testing.T) {
	basic := map[string]string{"Authorization": "Basic YWRtaW46c2ltLXB3LTZiMWY="} // admin:sim-pw-6b1f
	tests := []struct {
		name   string
		fault  Fault
		method string
		path   string
		body   string
		code   int
		text   string
	}{
		{"401 echoes the password", FaultUnauthorized, http.MethodPost, sessionsPath,
			`{"UserName":"admin","Password":"` + pass + `"}`, 401, pass},
		{"401 on reads", FaultUnauthorized, http.MethodGet, systemPath, "", 401, "InsufficientPrivilege"},
		{"503 sessions full", FaultSessionsFull, http.MethodPost, sessionsPath,
			`{"UserName":"admin","Password":"` + pass + `"}`, 503, "SessionLimitExceeded"},
		{"patch forgotten", FaultForgetBoot, http.MethodPatch, systemPath,
			`{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once"}}`, 204, ""},
		{"bad override value", 0, http.MethodPatch, systemPath,
			`{"Boot":{"BootSourceOverrideTarget":"Network"}}`, 400, "PropertyValueNotInList"},
		{"bad reset type", 0, http.MethodPost, resetPath, `{"ResetType":"Explode"}`, 400, "ActionParameterValueNotInList"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := New(Config{User: user, Password: pass})
			t.Cleanup(sim.Close)
			if tt.fault != 0 {
				sim.SetFault(tt.fault, true)
			}
			code, body, _ := do(t, sim, tt.method, tt.path, tt.body, basic)
			if code != tt.code || !strings.Contains(body, tt.text) {
				t.Errorf("%s %s = %d %s, want %d with %q", tt.method, tt.path, code, body, tt.code, tt.text)
			}
			if got := sim.Override(); got.Target != "None" {
				t.Errorf("override = %+v after a refused or forgotten change, want it unchanged", got)
			}
		})
	}
}

func TestHangEndsWithTheClient(t *testing.T) {
	sim := New(Config{User: user, Password: pass})
	t.Cleanup(sim.Close)
	sim.SetFault(FaultHang, true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sim.URL()+rootPath, nil)
	if _, err := client(sim).Do(req); err == nil {
		t.Fatal("a request to a hanging BMC succeeded")
	}
	sim.SetFault(FaultHang, false)
	if code, _, _ := do(t, sim, http.MethodGet, rootPath, "", nil); code != http.StatusOK {
		t.Errorf("service root after the hang = %d, want 200", code)
	}
}
