package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/inventory"
)

// Keys of testdata/lab/config.yaml that only authoritative mode uses.
var authoritativeKeys = []string{"subnet", "pool-start", "pool-end", "router", "dns", "lease-time"}

// buildRackboot builds cmd/rackboot into a temporary folder. It skips the
// test while the command does not exist yet.
func buildRackboot(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("../cmd/rackboot"); err != nil {
		t.Skipf("cmd/rackboot is not there to test: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "rackboot")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/rackboot")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/rackboot: %v\n%s", err, out)
	}
	return bin
}

// tinyOS is the tiny test OS as tinyos/build.sh built it.
type tinyOS struct {
	kernel, initrd string
}

// buildTinyOS runs tinyos/build.sh (which rebuilds only on change).
func buildTinyOS(t testing.TB) tinyOS {
	t.Helper()
	cmd := exec.Command("bash", "tinyos/build.sh")
	cmd.Stderr = t.Output()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tinyos/build.sh: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(dir, '\n'); i >= 0 {
		dir = dir[i+1:]
	}
	return tinyOS{kernel: filepath.Join(dir, "vmlinuz"), initrd: filepath.Join(dir, "initrd.gz")}
}

// server is a rackboot serve process inside a lab namespace.
type server struct {
	*proc
	bin string
	url string // the boot listener, plain HTTP
	// admin is the admin listener's URL; dataDir holds its certificate
	// and first token, where the CLI finds them with --data-dir.
	admin   string
	dataDir string
	client  *http.Client
	token   string
}

// startServer runs `rackboot serve` in n in the given mode, with the tiny OS
// as the assets of testdata/lab's profiles, and waits until its HTTP API
// answers. With a cluster c, rackboot serves Ignition with credentials
// minted in it; without, /ignition is off.
func startServer(t testing.TB, n *netns, bin string, tos tinyOS, mode string, c *labCluster) *server {
	t.Helper()
	return startServerWith(t, n, bin, tos, mode, c, "")
}

// startServerWith is startServer with machines, YAML list items, added to
// the end of the lab inventory.
func startServerWith(t testing.TB, n *netns, bin string, tos tinyOS, mode string,
	c *labCluster, machines string) *server {
	t.Helper()
	dir := t.ArtifactDir()
	assets := filepath.Join(dir, "assets")
	if err := mkdirs(filepath.Join(assets, "tiny"), filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	copyFile(t, tos.kernel, filepath.Join(assets, "tiny", "vmlinuz"))
	copyFile(t, tos.initrd, filepath.Join(assets, "tiny", "initrd.gz"))
	importIgnitionAssets(t, bin, assets)
	copyFile(t, "../testdata/lab/inventory.yaml", filepath.Join(dir, "inventory.yaml"))
	appendFile(t, filepath.Join(dir, "inventory.yaml"), machines)
	cfg, settings := writeConfig(t, dir, mode, c)
	_, port, err := net.SplitHostPort(fmt.Sprint(settings["http-addr"]))
	if err != nil {
		t.Fatalf("testdata/lab/config.yaml: http-addr: %v", err)
	}
	_, adminPort, err := net.SplitHostPort(fmt.Sprint(settings["admin-addr"]))
	if err != nil {
		t.Fatalf("testdata/lab/config.yaml: admin-addr: %v", err)
	}

	cmd := n.command(bin, "serve", "--config", cfg)
	// The inventory names the cluster CA relative to rackboot's folder.
	cmd.Dir = dir
	p := startProc(t, "rackboot", dir, cmd)
	// Leave out the lab's own polling of the API.
	p.quiet = []string{"path=/api/v1/machines"}
	s := &server{
		proc:    p,
		bin:     bin,
		url:     "http://" + net.JoinHostPort(serverIP, port),
		admin:   "https://" + net.JoinHostPort(serverIP, adminPort),
		dataDir: filepath.Join(dir, "data"),
		client:  n.httpClient(),
	}
	s.waitReady(t)
	return s
}

// trustAdmin makes s's client trust the admin certificate rackboot made
// in its data folder and sign in with the first token it wrote there, as
// the CLI does with --data-dir.
func (s *server) trustAdmin() error {
	pem, err := os.ReadFile(filepath.Join(s.dataDir, "admin-tls", "cert.pem"))
	if err != nil {
		return err
	}
	tok, err := os.ReadFile(filepath.Join(s.dataDir, "admin.token"))
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return errors.New("admin-tls/cert.pem holds no certificate")
	}
	s.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: roots}
	s.token = strings.TrimSpace(string(tok))
	return nil
}

// writeConfig writes testdata/lab/config.yaml with this test's mode, paths
// and cluster to dir and returns its path and settings.
func writeConfig(t testing.TB, dir, mode string, c *labCluster) (string, map[string]any) {
	t.Helper()
	b, err := os.ReadFile("../testdata/lab/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]any
	if err := yaml.Unmarshal(b, &settings); err != nil {
		t.Fatalf("testdata/lab/config.yaml: %v", err)
	}
	settings["mode"] = mode
	settings["assets-dir"] = filepath.Join(dir, "assets")
	settings["inventory"] = filepath.Join(dir, "inventory.yaml")
	settings["data-dir"] = filepath.Join(dir, "data")
	if mode == "proxy" {
		for _, k := range authoritativeKeys {
			delete(settings, k)
		}
	}
	ignitionSettings(t, settings, dir, c)
	out, err := yaml.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, settings
}

// waitReady waits up to 30 s for GET /api/v1/machines to answer 200 on
// the admin listener.
func (s *server) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.trustAdmin()
		if err == nil {
			err = s.get(t.Context(), "/api/v1/machines", nil)
		}
		if err == nil {
			return
		}
		if s.exited() {
			t.Fatalf("rackboot serve exited before its API answered: %v", s.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("rackboot API did not answer within 30 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// timeline fetches the timeline rackboot recorded for mac.
func (s *server) timeline(ctx context.Context, mac string) ([]inventory.Event, error) {
	var events []inventory.Event
	err := s.get(ctx, "/api/v1/machines/"+mac+"/timeline", &events)
	return events, err
}

// get fetches path from the API and decodes its JSON body into v (if set).
func (s *server) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.admin+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}

func mkdirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}
