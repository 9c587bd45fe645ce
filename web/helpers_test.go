package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/internal/testlog"
	"github.com/rackboot/rackboot/inventory"
)

var _ Inventory = (*inventory.Inventory)(nil)

// The catalog matches the machine and profile of ipxe's golden scripts, so
// that served scripts can be compared with testdata/ipxe.
const catalogYAML = `
profiles:
  - name: tiny
    kernel: tiny/vmlinuz
    initrds: [tiny/initrd.gz, tiny/modules.cpio.gz]
    args: "console=ttyS0 panic=-1 rackboot.url=http://192.0.2.10:8080"
  - name: broken
    kernel: tiny/vmlinuz
    args: "ip=${net0/ip}"
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: tiny
    address: 10.99.0.50
    labels: {rack: r1}
  - name: node2
    macs: ["02:00:00:00:00:02", "02:00:00:00:00:03"]
    profile: tiny
    arch: x64-efi
  - name: node4
    macs: ["02:00:00:00:00:04"]
    profile: broken
`

const (
	mac1    = "02:00:00:00:00:01"
	mac2    = "02:00:00:00:00:02"
	mac3    = "02:00:00:00:00:03"
	macBad  = "02:00:00:00:00:04"
	macNew  = "02:00:00:00:00:99"
	ip1     = "10.99.0.50"
	remote1 = ip1 + ":40000"
)

// env is a server over a real inventory in a temporary store, with an
// assets directory and two loader directories.
type env struct {
	srv    *Server
	inv    *inventory.Inventory
	assets string
	logs   *syncBuffer
}

// syncBuffer collects log output; safe for concurrent use.
type syncBuffer = testlog.Buffer

// kernel and initrd are the asset contents: distinct bytes at each offset.
var (
	kernel = pattern(1000, 7)
	initrd = pattern(300, 13)
)

func pattern(n, step int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * step)
	}
	return b
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOver(t, func(s *inventory.Store) inventory.Backend { return s })
}

// newEnvOver is newEnv with the inventory over backend(store).
func newEnvOver(t *testing.T, backend func(*inventory.Store) inventory.Backend) *env {
	t.Helper()
	cat, err := inventory.ParseCatalog([]byte(catalogYAML))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{inv: inventory.New(cat, backend(store)), assets: makeAssets(t), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv, err = NewServer(Config{
		Addr:       "127.0.0.1:0",
		PublicURL:  "http://192.0.2.10:8080",
		AssetsDir:  e.assets,
		LoaderDirs: makeLoaders(t),
	}, e.inv, log)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// makeAssets builds the assets directory, with a directory, a symbolic
// link inside and one leading out.
func makeAssets(t *testing.T) string {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	writeFile(t, outside, []byte("secret"))
	writeFile(t, filepath.Join(dir, "tiny/vmlinuz"), kernel)
	writeFile(t, filepath.Join(dir, "tiny/initrd.gz"), initrd)
	writeFile(t, filepath.Join(dir, "tiny/modules.cpio.gz"), []byte("modules"))
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("not a profile asset"))
	symlink(t, "tiny/vmlinuz", filepath.Join(dir, "alias"))
	symlink(t, outside, filepath.Join(dir, "escape"))
	symlink(t, "../"+filepath.Base(filepath.Dir(outside))+"/secret", filepath.Join(dir, "escape-rel"))
	return dir
}

// makeLoaders returns two loader directories; ipxe.efi is in both.
func makeLoaders(t *testing.T) []string {
	first, second := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(first, "ipxe.efi"), []byte("first"))
	writeFile(t, filepath.Join(second, "ipxe.efi"), []byte("second"))
	writeFile(t, filepath.Join(second, "snponly.efi"), []byte("snp"))
	return []string{first, second}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// request is one request to the handler, from remote.
type request struct {
	method, target, remote string
	body                   string
	header                 http.Header
}

func (e *env) do(t *testing.T, rq request) *httptest.ResponseRecorder {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodGet
	}
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.target, body)
	r.RemoteAddr = rq.remote
	if r.RemoteAddr == "" {
		r.RemoteAddr = remote1
	}
	for k, v := range rq.header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	routeTest(t, e.srv, r).ServeHTTP(w, r)
	return w
}

// routeTest picks the listener that serves r, as a deployment does: the
// admin one for the API (the callback aside), authenticated as an
// operator unless r carries its own credential.
func routeTest(t *testing.T, s *Server, r *http.Request) http.Handler {
	t.Helper()
	if !strings.HasPrefix(r.URL.Path, "/api/") || strings.HasSuffix(r.URL.Path, "/callback") {
		return s.BootHandler()
	}
	if r.Header.Get("Authorization") == "" {
		r.Header.Set("Authorization", "Bearer "+operatorToken)
	}
	return newTestAdmin(t, s, AdminConfig{}).Handler()
}

func (e *env) get(t *testing.T, target string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, request{target: target})
}

// kinds returns the event kinds of mac's timeline.
func (e *env) kinds(t *testing.T, mac string) []inventory.EventKind {
	t.Helper()
	events, err := e.inv.Timeline(mac)
	if err != nil {
		t.Fatal(err)
	}
	var out []inventory.EventKind
	for _, ev := range events {
		out = append(out, ev.Kind)
	}
	return out
}

// seen records a DHCP offer so that mac is known at ip.
func (e *env) seen(t *testing.T, mac, ip string) {
	t.Helper()
	ev := inventory.Event{Kind: inventory.EventDHCPOffer, IP: netip.MustParseAddr(ip)}
	if _, err := e.inv.Record(mac, ev); err != nil {
		t.Fatal(err)
	}
}

// statusCount returns how many machines the store has seen.
func (e *env) statusCount(t *testing.T) int {
	t.Helper()
	st, err := e.inv.Statuses()
	if err != nil {
		t.Fatal(err)
	}
	return len(st)
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../testdata/ipxe", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
