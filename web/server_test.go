package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, nil)
	good := Config{Addr: ":8080", PublicURL: "http://192.0.2.10:8080", AssetsDir: dir, LoaderDirs: []string{dir}}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"good", func(*Config) {}, ""},
		{"no loader dirs", func(c *Config) { c.LoaderDirs = nil }, ""},
		{"no addr", func(c *Config) { c.Addr = "" }, "Addr:"},
		{"addr without port", func(c *Config) { c.Addr = "192.0.2.10" }, "Addr:"},
		{"https", func(c *Config) { c.PublicURL = "https://192.0.2.10" }, "PublicURL:"},
		{"no public url", func(c *Config) { c.PublicURL = "" }, "PublicURL:"},
		{"no assets", func(c *Config) { c.AssetsDir = "" }, "AssetsDir: required"},
		{"assets missing", func(c *Config) { c.AssetsDir = filepath.Join(dir, "nope") }, "AssetsDir:"},
		{"assets is a file", func(c *Config) { c.AssetsDir = file }, "AssetsDir:"},
		{"second loader dir", func(c *Config) { c.LoaderDirs = []string{dir, file} }, "LoaderDirs[1]:"},
		{"negative unknown retry", func(c *Config) { c.UnknownRetry = -time.Second }, "UnknownRetry:"},
		{"negative retry", func(c *Config) { c.RetryDelay = -time.Second }, "RetryDelay:"},
		{"negative shutdown", func(c *Config) { c.ShutdownTimeout = -time.Second }, "ShutdownTimeout:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error starting %q", err, tt.wantErr)
			}
		})
	}
}

func TestUnknownRetryReachesScript(t *testing.T) {
	e := newEnv(t)
	cfg := e.srv.cfg
	cfg.UnknownRetry = 90 * time.Second
	srv, err := NewServer(cfg, e.inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	if body := e.get(t, "/ipxe?mac="+macNew).Body.String(); !strings.Contains(body, "\nsleep 90\n") {
		t.Errorf("unknown script with UnknownRetry 90s =\n%s\nwant sleep 90", body)
	}
}

// panicky is an inventory whose Statuses panics.
type panicky struct{ *inventory.Inventory }

func (panicky) Statuses() ([]inventory.Status, error) { panic("boom") }

func TestPanicIsRecovered(t *testing.T) {
	e := newEnv(t)
	srv, err := NewServer(e.srv.cfg, panicky{e.inv}, e.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	w := e.get(t, "/api/v1/machines")
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("GET with a panicking store = %d, want 500", w.Code)
	}
	wantJSONError(t, w.Header().Get("Content-Type"), w.Body.Bytes())
	if logs := e.logs.String(); !strings.Contains(logs, "panic serving http") || !strings.Contains(logs, "boom") {
		t.Errorf("log does not report the panic:\n%s", logs)
	}
	if w := e.get(t, "/boot.ipxe"); w.Code != http.StatusOK {
		t.Errorf("GET /boot.ipxe after a panic = %d, want 200", w.Code)
	}
}

func TestRequestLog(t *testing.T) {
	e := newEnv(t)
	e.get(t, "/assets/notes.txt")
	logs := e.logs.String()
	for _, want := range []string{`level=DEBUG msg="http request" method=GET path=/assets/notes.txt`,
		"remote=" + remote1, "status=200", "bytes=19"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// serve runs e.srv on a 127.0.0.1 listener until the test ends and returns
// its base URL.
func serve(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v, want nil after a clean stop", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestServeStopsCleanly(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/boot.ipxe")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.HasPrefix(body, []byte("#!ipxe\n")) {
		t.Errorf("GET /boot.ipxe = %q, want a script", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve() = %v, want nil", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Errorf("listener %s still accepts after the stop", ln.Addr())
	}
}

// blocking is an inventory whose Statuses waits for release.
type blocking struct {
	*inventory.Inventory
	started, release chan struct{}
}

func (b blocking) Statuses() ([]inventory.Status, error) {
	close(b.started)
	<-b.release
	return nil, nil
}

// A request still running at ShutdownTimeout is cut, logged, and does
// not turn a requested stop into a failure.
func TestServeShutdownTimeout(t *testing.T) {
	e := newEnv(t)
	inv := blocking{e.inv, make(chan struct{}), make(chan struct{})}
	cfg := e.srv.cfg
	cfg.ShutdownTimeout = 50 * time.Millisecond
	srv, err := NewServer(cfg, inv, slog.New(slog.NewTextHandler(e.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	admin := newTestAdmin(t, srv, AdminConfig{})
	go func() { done <- admin.Serve(ctx, ln) }()
	go func() {
		r, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/v1/machines", nil)
		r.Header.Set("Authorization", "Bearer "+operatorToken)
		if resp, err := http.DefaultClient.Do(r); err == nil {
			resp.Body.Close()
		}
	}()

	<-inv.started
	cancel()
	err = <-done
	close(inv.release)
	if err != nil {
		t.Errorf("Serve() with a request in flight = %v, want nil", err)
	}
	if !strings.Contains(e.logs.String(), "admin requests cut short by shutdown") {
		t.Errorf("log does not say requests were cut:\n%s", e.logs)
	}
}

func TestRunAddrInUse(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e.srv.cfg.Addr = ln.Addr().String()
	err = e.srv.Run(context.Background())
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Run() on a taken address = %v, want a *net.OpError", err)
	}
}

// eventually calls f until it returns want, for up to five seconds, and
// returns its last result.
func eventually(f func() int, want int) int {
	deadline := time.Now().Add(5 * time.Second)
	got := f()
	for got != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		got = f()
	}
	return got
}

// TestCurl fetches assets with a real curl: a first range, the last range,
// HEAD and a whole body, and checks which of them count as fetched.
func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed (apt-get install curl)")
	}
	e := newEnv(t)
	e.seen(t, mac1, "127.0.0.1")
	base := serve(t, e)
	out := filepath.Join(t.TempDir(), "out")
	curl := func(args ...string) string {
		t.Helper()
		args = append([]string{"-sS", "--fail", "--max-time", "20"}, args...)
		b, err := exec.Command("curl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	fetched := func() int {
		n := 0
		for _, k := range e.kinds(t, mac1) {
			if k == inventory.EventKernelFetched {
				n++
			}
		}
		return n
	}
	steps := []struct {
		name        string
		args        []string
		wantHeaders []string
		wantBody    []byte
		wantFetched int
	}{
		{"first 100 bytes", []string{"-r", "0-99", "-D", "-", "-o", out},
			[]string{"HTTP/1.1 206", "Content-Range: bytes 0-99/1000"}, kernel[:100], 0},
		{"head", []string{"-I"},
			[]string{"HTTP/1.1 200", "Content-Length: 1000", "Accept-Ranges: bytes"}, nil, 0},
		{"last 100 bytes", []string{"-r", "900-999", "-D", "-", "-o", out},
			[]string{"HTTP/1.1 206", "Content-Range: bytes 900-999/1000"}, kernel[900:], 1},
		{"whole file", []string{"-D", "-", "-o", out},
			[]string{"HTTP/1.1 200", "Content-Type: application/octet-stream"}, kernel, 2},
	}
	for _, st := range steps {
		headers := curl(append(st.args, base+"/assets/tiny/vmlinuz")...)
		for _, h := range st.wantHeaders {
			if !strings.Contains(headers, h) {
				t.Errorf("%s: response lacks %q:\n%s", st.name, h, headers)
			}
		}
		if st.wantBody != nil {
			got, err := os.ReadFile(out)
			if err != nil || !bytes.Equal(got, st.wantBody) {
				t.Errorf("%s: body = %d bytes (%v), want %d bytes of the kernel", st.name, len(got), err, len(st.wantBody))
			}
		}
		// The server records after its last write, which curl may see
		// first: wait for the count to settle.
		if got := eventually(fetched, st.wantFetched); got != st.wantFetched {
			t.Errorf("%s: %d kernel-fetched events, want %d", st.name, got, st.wantFetched)
		}
	}
	callback := curl("-X", "POST", "-w", "%{http_code}", base+"/api/v1/machines/"+mac1+"/callback")
	if diff := cmp.Diff("204", callback); diff != "" {
		t.Errorf("curl callback status (-want +got):\n%s", diff)
	}
}
