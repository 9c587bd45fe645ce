package web

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// serveLoopback serves s on a loopback port until the test ends and
// returns its base URL.
func serveLoopback(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// fetchStatus sends one request to url and returns the status, having
// read the body to its end.
func fetchStatus(t *testing.T, method, url string, header ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

// bootTraffic fetches every kind of script, whole and partial assets, a
// loader, and /ignition served, refused, failed and not found.
func bootTraffic(t *testing.T, m *Metrics) {
	e := newEnv(t)
	e.srv.SetMetrics(m)
	base := serveLoopback(t, e.srv)
	steps := []struct {
		method, path string
		header       []string
		want         int
	}{
		{"GET", "/boot.ipxe", nil, 200},
		{"GET", "/ipxe?mac=" + mac1 + biosQuery, nil, 200},
		{"POST", "/api/v1/machines/" + mac1 + "/callback", nil, 204},
		{"GET", "/ipxe?mac=" + mac1 + biosQuery, nil, 200},
		{"GET", "/ipxe?mac=" + macNew + biosQuery, nil, 200},
		{"GET", "/ipxe?mac=nonsense", nil, 400},
		{"GET", "/assets/tiny/vmlinuz", nil, 200},                             // 1000 bytes
		{"GET", "/assets/tiny/vmlinuz", []string{"Range", "bytes=0-99"}, 206}, // 100
		{"HEAD", "/assets/tiny/vmlinuz", nil, 200},                            // none
		{"GET", "/assets/missing", nil, 404},
		{"GET", "/loaders/snponly.efi", nil, 200}, // 3
	}
	for _, st := range steps {
		if got := fetchStatus(t, st.method, base+st.path, st.header...); got != st.want {
			t.Errorf("%s %s = %d, want %d", st.method, st.path, got, st.want)
		}
	}

	f := &fakeRenderer{body: "config of ", err: errors.New("no cluster")}
	ig := newIgnitionEnv(t, f)
	ig.srv.SetMetrics(m)
	base = serveLoopback(t, ig.srv)
	for i, want := range []int{500, 200, 403} {
		if got := fetchStatus(t, "GET", base+ignitionURL); got != want {
			t.Errorf("GET %s #%d = %d, want %d", ignitionURL, i, got, want)
		}
		f.mu.Lock()
		f.err = nil
		f.mu.Unlock()
	}
	if got := fetchStatus(t, "GET", base+"/ignition?mac="+mac2); got != 404 {
		t.Errorf("GET /ignition of a profile without Ignition = %d, want 404", got)
	}
}

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	bootTraffic(t, NewMetrics(reg))
	want := `
# HELP rackboot_http_asset_bytes_total Body bytes of kernels, initrds and HTTP Boot loaders sent.
# TYPE rackboot_http_asset_bytes_total counter
rackboot_http_asset_bytes_total 1103
# HELP rackboot_http_scripts_served_total iPXE scripts served, by kind.
# TYPE rackboot_http_scripts_served_total counter
rackboot_http_scripts_served_total{kind="chain"} 1
rackboot_http_scripts_served_total{kind="local"} 1
rackboot_http_scripts_served_total{kind="machine"} 1
rackboot_http_scripts_served_total{kind="unknown"} 1
# HELP rackboot_ignition_renders_total Ignition config requests, by result.
# TYPE rackboot_ignition_renders_total counter
rackboot_ignition_renders_total{result="failed"} 1
rackboot_ignition_renders_total{result="not_found"} 1
rackboot_ignition_renders_total{result="refused"} 1
rackboot_ignition_renders_total{result="served"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint() = %v, %v; want no problems", problems, err)
	}
}

// TestMetricsNil serves the same traffic without metrics: every answer is
// the same and nothing panics.
func TestMetricsNil(t *testing.T) {
	bootTraffic(t, nil)
	var m *Metrics
	m.script(scriptChain)
	m.sent(1)
	m.ignitionResult(ignitionServed)
}
