package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// replicaConfig sets up one rackboot serving from the Kubernetes store.
type replicaConfig struct {
	id string // --replica-id, and the name of its log and folder
	// iface and cidr put the replica in a namespace of its own, joined to
	// the lab bridge as another host; empty runs it in the lab namespace
	// at serverIP.
	iface, cidr string
	// profiles names the profiles of testdata/lab/inventory.yaml its
	// inventory file keeps; the file declares no machine: Machine objects
	// do.
	profiles []string
	// ignition serves Ignition with credentials minted in the shared
	// cluster.
	ignition bool
	// settings are more settings, by flag name.
	settings map[string]any
}

// replica is a rackboot with --store kubernetes.
type replica struct {
	*server
	id string
	n  *netns // where it runs
}

// requireStore skips t while rackboot serve has no Kubernetes store.
func requireStore(t *testing.T, bin string) {
	t.Helper()
	out, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
	if !strings.Contains(string(out), "-store-namespace") {
		t.Skip("rackboot serve has no --store kubernetes yet (issue #7)")
	}
}

// startReplica runs `rackboot serve` in authoritative mode against ns,
// and waits until its API answers and /readyz says ready.
func startReplica(t *testing.T, lab *netns, ns *kubeNS, bin string, tos tinyOS,
	rc replicaConfig) *replica {
	t.Helper()
	n, ip, iface := lab, serverIP, bridgeName
	if rc.cidr != "" {
		n, ip, iface = newNetns(t), strings.Split(rc.cidr, "/")[0], rc.iface
		lab.addHost(t, n, rc.iface, rc.cidr)
	}
	ns.forwardInto(t, n)
	dir := filepath.Join(t.ArtifactDir(), rc.id)
	assets := filepath.Join(dir, "assets")
	if err := mkdirs(filepath.Join(assets, "tiny"), filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	copyFile(t, tos.kernel, filepath.Join(assets, "tiny", "vmlinuz"))
	copyFile(t, tos.initrd, filepath.Join(assets, "tiny", "initrd.gz"))
	importIgnitionAssets(t, bin, assets)
	writeStoreInventory(t, filepath.Join(dir, "inventory.yaml"), rc.profiles)
	var c *labCluster
	if rc.ignition {
		c = ns.cluster()
	}
	cfg, settings := writeConfig(t, dir, "authoritative", c)
	settings["interface"], settings["server-ip"] = iface, ip
	settings["store"], settings["store-kubeconfig"] = "kubernetes", ns.kubeconfig
	settings["store-namespace"], settings["replica-id"] = ns.name, rc.id
	for k, v := range rc.settings {
		settings[k] = v
	}
	writeYAML(t, cfg, settings)

	cmd := n.command(bin, "serve", "--config", cfg)
	cmd.Dir = dir
	p := startProc(t, "rackboot-"+rc.id, dir, cmd)
	p.quiet = []string{"path=/api/v1/machines", "path=/api/v1/status", "path=/readyz"}
	s := &server{proc: p, bin: bin, url: "http://" + net.JoinHostPort(ip, "8080"),
		admin: "https://" + net.JoinHostPort(ip, "8443"), dataDir: filepath.Join(dir, "data"),
		client: n.httpClient()}
	s.waitReady(t)
	r := &replica{server: s, id: rc.id, n: n}
	r.waitReadyz(t, http.StatusOK, 30*time.Second)
	return r
}

// writeStoreInventory writes testdata/lab/inventory.yaml to path with
// only the named profiles and no machines.
func writeStoreInventory(t *testing.T, path string, profiles []string) {
	t.Helper()
	b, err := os.ReadFile("../testdata/lab/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var inv struct {
		Profiles []map[string]any `json:"profiles"`
	}
	if err := yaml.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	inv.Profiles = slices.DeleteFunc(inv.Profiles, func(p map[string]any) bool {
		return !slices.Contains(profiles, fmt.Sprint(p["name"]))
	})
	writeYAML(t, path, inv)
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// raw GETs path from the admin listener and returns status and body.
func (s *server) raw(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.admin+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// waitReadyz waits up to d for /readyz to answer code, and returns the
// body of that answer.
func (r *replica) waitReadyz(t *testing.T, code int, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		got, body, err := r.raw(ctx, "/readyz")
		cancel()
		if err == nil && got == code {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz = %d %q (%v) after %s, want %d", r.id, got, body, err, d, code)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// replicaStatus is what /api/v1/status says of the store and leader.
type replicaStatus struct {
	Store    string `json:"store"`
	Degraded bool   `json:"degraded"`
	Reason   string `json:"reason"`
	Leader   string `json:"leader"`
	Replica  string `json:"replica"`
	Leading  bool   `json:"leading"`
	// QueuedWrites counts the writes waiting for the API server.
	QueuedWrites int `json:"queued_writes"`
}

func (r *replica) status(ctx context.Context) (replicaStatus, error) {
	var st replicaStatus
	err := r.get(ctx, "/api/v1/status", &st)
	return st, err
}

// kill ends the replica at once, as a crash or an evicted node would.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing %s: %v", r.id, err)
	}
	<-r.done
}

// balance accepts connections on addr inside n and joins each to the
// first of backends (dialled from n) that accepts it, as a Service in
// front of the replicas would: the tiny OS calls back one URL whichever
// replica lives.
func balance(t *testing.T, n *netns, addr string, backends ...string) {
	t.Helper()
	l, err := n.listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, n.name, err)
	}
	serveConns(t, l, func(c net.Conn, track func(net.Conn)) { joinFirst(n, c, backends, track) })
}

// joinFirst copies between c and the first backend that accepts a
// connection, until either side closes.
func joinFirst(n *netns, c net.Conn, backends []string, track func(net.Conn)) {
	defer c.Close()
	for _, b := range backends {
		up, err := n.dialContext(context.Background(), "tcp", b)
		if err != nil {
			continue
		}
		track(up)
		splice(c, up)
		return
	}
}

// statusOf decodes the status of a rackboot.io object.
func statusOf[T any](t *testing.T, obj map[string]any) T {
	t.Helper()
	var v T
	b, err := json.Marshal(obj["status"])
	if err == nil {
		err = json.Unmarshal(b, &v)
	}
	if err != nil {
		t.Fatalf("decoding status: %v", err)
	}
	return v
}
