package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/ignition"
	"github.com/rackboot/rackboot/inventory"
)

var (
	_ Provisions       = (*inventory.Inventory)(nil)
	_ IgnitionRenderer = (*ignition.Renderer)(nil)
)

// ignitionCatalog adds a worker profile with Ignition settings to the
// catalog of the other tests. node1 boots it; node2 boots tiny.
var ignitionCatalog = `
profiles:
  - name: worker
    kernel: flatcar/vmlinuz
    ignition:
      os: flatcar
      kubernetesVersion: v1.34.2
      crioVersion: v1.34.1
      apiServer: https://10.99.0.2:6443
      clusterCAFile: ../testdata/ignition/ca.crt
      clusterDNS: [10.96.0.10]
      kubelet: {asset: k8s/kubelet, sha512: ` + fakeSHA512 + `}
      crio: {asset: crio/crio.raw, sha512: ` + fakeSHA512 + `}
  - name: tiny
    kernel: tiny/vmlinuz
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: worker
  - name: node2
    macs: ["02:00:00:00:00:02"]
    profile: tiny
`

var fakeSHA512 = strings.Repeat("ab", 64)

// fakeRenderer returns body, or err, and records the generations asked.
type fakeRenderer struct {
	mu   sync.Mutex
	body string
	err  error
	gens []uint64
}

func (f *fakeRenderer) Render(_ context.Context, m inventory.Machine, p inventory.Profile, gen uint64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gens = append(f.gens, gen)
	if f.err != nil {
		return nil, f.err
	}
	return []byte(f.body + m.Name + "/" + p.Name), nil
}

// newIgnitionEnv is a server over the ignition catalog; a nil renderer
// leaves /ignition unconfigured.
func newIgnitionEnv(t *testing.T, r IgnitionRenderer) *env {
	t.Helper()
	cat, err := inventory.ParseCatalog([]byte(ignitionCatalog))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{inv: inventory.New(cat, store), assets: t.TempDir(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv, err = NewServer(Config{Addr: "127.0.0.1:0", PublicURL: "http://192.0.2.10:8080",
		AssetsDir: e.assets}, e.inv, log)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		e.srv.SetIgnition(r, e.inv)
	}
	return e
}

const ignitionURL = "/ignition?mac=02-00-00-00-00-01&uuid=0F0E0D0C-0B0A-0908-0706-050403020100"

func TestIgnitionServedOncePerGeneration(t *testing.T) {
	f := &fakeRenderer{body: "config of "}
	e := newIgnitionEnv(t, f)

	w := e.get(t, ignitionURL)
	if w.Code != http.StatusOK || w.Body.String() != "config of node1/worker" {
		t.Fatalf("first GET = %d %q, want 200 with the config", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/vnd.coreos.ignition+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	w = e.get(t, ignitionURL)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "already served in generation 1") {
		t.Fatalf("second GET = %d %q, want 403 already served", w.Code, w.Body)
	}
	if _, err := e.inv.NewGeneration("node1"); err != nil {
		t.Fatal(err)
	}
	if w = e.get(t, ignitionURL); w.Code != http.StatusOK {
		t.Fatalf("GET in generation 2 = %d %q, want 200", w.Code, w.Body)
	}
	if diff := cmp.Diff([]uint64{1, 2}, f.gens); diff != "" {
		t.Errorf("generations rendered (-want +got):\n%s", diff)
	}
	want := []inventory.EventKind{inventory.EventIgnitionServed,
		inventory.EventIgnitionRefused, inventory.EventIgnitionServed}
	if diff := cmp.Diff(want, e.kinds(t, mac1)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	events, _ := e.inv.Timeline(mac1)
	if d := events[0].Detail; d != "generation 1 uuid=0f0e0d0c-0b0a-0908-0706-050403020100" {
		t.Errorf("detail = %q", d)
	}
	st, _ := e.inv.Status(mac1)
	if st.State != inventory.StateIgnitionServed || st.IP != netip.MustParseAddr(ip1) {
		t.Errorf("status = %s at %s, want ignition-served at %s", st.State, st.IP, ip1)
	}
}

func TestIgnitionRenderErrorLeavesStepFree(t *testing.T) {
	f := &fakeRenderer{err: errors.New("no cluster configured")}
	e := newIgnitionEnv(t, f)
	w := e.get(t, ignitionURL)
	if w.Code != http.StatusInternalServerError ||
		w.Body.String() != "cannot render the ignition config of node1: no cluster configured\n" {
		t.Fatalf("GET = %d %q, want 500 with the reason", w.Code, w.Body)
	}
	events, _ := e.inv.Timeline(mac1)
	if len(events) != 1 || events[0].Kind != inventory.EventError ||
		events[0].Detail != "rendering ignition: no cluster configured" {
		t.Fatalf("timeline = %+v, want one error event with the reason", events)
	}
	f.err = nil
	if w = e.get(t, ignitionURL); w.Code != http.StatusOK {
		t.Fatalf("GET after the cluster came back = %d %q, want 200", w.Code, w.Body)
	}
}

func TestIgnitionRealRendererWithoutCluster(t *testing.T) {
	r, err := ignition.New(ignition.Config{BaseURL: "http://192.0.2.10:8080"})
	if err != nil {
		t.Fatal(err)
	}
	e := newIgnitionEnv(t, r)
	w := e.get(t, ignitionURL)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "no cluster configured") {
		t.Fatalf("GET = %d %q, want 500 no cluster configured", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "{") {
		t.Errorf("500 body %q looks like a (partial) config", w.Body)
	}
}

func TestIgnitionLeasedAddress(t *testing.T) {
	e := newIgnitionEnv(t, &fakeRenderer{})
	lease := inventory.Lease{MAC: mac1, IP: netip.MustParseAddr("10.99.0.77"),
		Expiry: time.Now().Add(time.Hour)}
	if err := e.inv.PutLease(lease); err != nil {
		t.Fatal(err)
	}
	w := e.do(t, request{target: ignitionURL, remote: "10.99.0.50:40000"})
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "leased address is 10.99.0.77") {
		t.Fatalf("GET from another address = %d %q, want 403", w.Code, w.Body)
	}
	w = e.do(t, request{target: ignitionURL, remote: "10.99.0.77:40000"})
	if w.Code != http.StatusOK {
		t.Fatalf("GET from the leased address = %d %q, want 200", w.Code, w.Body)
	}
}

func TestIgnitionConcurrentFetchesGetOneConfig(t *testing.T) {
	e := newIgnitionEnv(t, &fakeRenderer{})
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- e.get(t, ignitionURL).Code
		}()
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if diff := cmp.Diff(map[int]int{200: 1, 403: n - 1}, got); diff != "" {
		t.Errorf("status counts (-want +got):\n%s", diff)
	}
}

func TestIgnitionRefusedRequests(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		wantCode int
		wantBody string
	}{
		{"no mac", "/ignition", 400, "mac: required"},
		{"bad mac", "/ignition?mac=zz", 400, "mac:"},
		{"unknown parameter", "/ignition?mac=02-00-00-00-00-01&arch=x86_64", 400, "unknown parameter"},
		{"mac twice", "/ignition?mac=02-00-00-00-00-01&mac=02-00-00-00-00-01", 400, "given 2 times"},
		{"bad uuid", "/ignition?mac=02-00-00-00-00-01&uuid=nope", 400, "uuid:"},
		{"long query", "/ignition?mac=" + strings.Repeat("a", 200), 400, "at most 128"},
		{"unknown machine", "/ignition?mac=02-00-00-00-00-99", 404, "no ignition config for 02:00:00:00:00:99"},
		{"profile without ignition", "/ignition?mac=02-00-00-00-00-02", 404, "no ignition config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newIgnitionEnv(t, &fakeRenderer{})
			w := e.get(t, tt.target)
			if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tt.target, w.Code, w.Body, tt.wantCode, tt.wantBody)
			}
			if n := e.statusCount(t); n != 0 {
				t.Errorf("%d machines recorded, want none", n)
			}
		})
	}
}

func TestIgnitionNotConfigured(t *testing.T) {
	e := newIgnitionEnv(t, nil)
	w := e.get(t, ignitionURL)
	if w.Code != http.StatusNotFound || w.Body.String() != "ignition not configured\n" {
		t.Fatalf("GET = %d %q, want 404 ignition not configured", w.Code, w.Body)
	}
}

// FuzzIgnitionQuery checks that whatever parseIgnitionQuery accepts is a
// canonical MAC and a well-formed, lower-case UUID or none.
func FuzzIgnitionQuery(f *testing.F) {
	f.Add("mac=02-00-00-00-00-01&uuid=0F0E0D0C-0B0A-0908-0706-050403020100")
	f.Add("mac=02:00:00:00:00:01&uuid=")
	f.Add("mac=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseIgnitionQuery(raw)
		if err != nil {
			return
		}
		if mac, err := inventory.NormalizeMAC(q.MAC); err != nil || mac != q.MAC {
			t.Errorf("parseIgnitionQuery(%q).MAC = %q, not canonical", raw, q.MAC)
		}
		if q.UUID != "" && (checkUUID(q.UUID) != nil || strings.ToLower(q.UUID) != q.UUID) {
			t.Errorf("parseIgnitionQuery(%q).UUID = %q", raw, q.UUID)
		}
	})
}

func TestIgnitionBootUUID(t *testing.T) {
	const (
		uuidA = "0f0e0d0c-0b0a-0908-0706-050403020100"
		uuidB = "00112233-4455-6677-8899-aabbccddeeff"
	)
	const refused = "uuid does not match the one the machine booted with"
	tests := []struct {
		name   string
		booted []string // uuid of each /ipxe fetch before /ignition; "" sends none
		asked  string   // uuid of the /ignition fetch; "" sends none
		want   string   // refusal reason, or "" for a 200
	}{
		{name: "same uuid", booted: []string{uuidA}, asked: uuidA},
		{name: "booted upper case", booted: []string{strings.ToUpper(uuidA)}, asked: uuidA},
		{name: "asked upper case", booted: []string{uuidA}, asked: strings.ToUpper(uuidA)},
		{name: "other uuid", booted: []string{uuidA}, asked: uuidB, want: refused},
		{name: "booted without uuid", booted: []string{""}, asked: uuidB},
		{name: "asked without uuid", booted: []string{uuidA}, asked: ""},
		{name: "never booted", asked: uuidA},
		{name: "rebooted with another uuid", booted: []string{uuidA, uuidB}, asked: uuidB},
		{name: "uuid of an earlier boot", booted: []string{uuidA, uuidB}, asked: uuidA, want: refused},
		{name: "earlier uuid forgotten", booted: []string{uuidA, ""}, asked: uuidB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newIgnitionEnv(t, &fakeRenderer{})
			for _, u := range tt.booted {
				target := "/ipxe?mac=" + mac1
				if u != "" {
					target += "&uuid=" + u
				}
				if w := e.get(t, target); w.Code != http.StatusOK {
					t.Fatalf("GET %s = %d %q, want 200", target, w.Code, w.Body)
				}
			}
			target := "/ignition?mac=" + mac1
			if tt.asked != "" {
				target += "&uuid=" + tt.asked
			}
			w := e.get(t, target)
			if tt.want == "" {
				if w.Code != http.StatusOK {
					t.Errorf("GET %s = %d %q, want 200", target, w.Code, w.Body)
				}
				return
			}
			if w.Code != http.StatusForbidden || w.Body.String() != "ignition refused: "+tt.want+"\n" {
				t.Errorf("GET %s = %d %q, want 403 %q", target, w.Code, w.Body, tt.want)
			}
			events, _ := e.inv.Timeline(mac1)
			last := events[len(events)-1]
			if last.Kind != inventory.EventIgnitionRefused || last.Detail != tt.want {
				t.Errorf("last event = %s %q, want %s %q", last.Kind, last.Detail,
					inventory.EventIgnitionRefused, tt.want)
			}
		})
	}
}
