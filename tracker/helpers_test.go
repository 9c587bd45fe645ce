package tracker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/rackboot/rackboot/ignition"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/internal/testlog"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/join"
	"github.com/rackboot/rackboot/web"
)

var (
	_ Inventory = (*inventory.Inventory)(nil)
	_ Revoker   = (*join.Minter)(nil)
)

// minterCreds adapts a join.Minter to the Credentials package ignition
// renders with.
type minterCreds struct{ m *join.Minter }

func (c minterCreds) BootstrapToken(ctx context.Context, machine string, gen uint64) (ignition.Token, error) {
	creds, err := c.m.BootstrapToken(ctx, machine, gen)
	if err != nil {
		return ignition.Token{}, err
	}
	return ignition.ParseToken(creds.Token)
}

func (c minterCreds) KubeProxyCertificate(ctx context.Context, machine string, gen uint64) (ignition.ClientCertificate, error) {
	creds, err := c.m.KubeProxy(ctx, machine, gen)
	if err != nil {
		return ignition.ClientCertificate{}, err
	}
	return ignition.ClientCertificate{CertPEM: creds.Cert, KeyPEM: creds.Key}, nil
}

// lab is a real control plane, rackboot's store and web server over a
// catalog of machines on loopback addresses, and a tracker watching as
// the rackboot user of deploy/rbac.yaml.
type lab struct {
	t       *testing.T
	cp      *kubetest.ControlPlane
	admin   kubernetes.Interface
	inv     *inventory.Inventory
	minter  *join.Minter
	tracker *Tracker
	web     string // the web server's URL
	log     *syncBuffer
}

// machines of the labs: name, MAC and loopback address. The web server
// sees each machine's requests come from its own address.
var labMachines = []struct {
	name, mac string
	ip        netip.Addr
}{
	{"m1", "02:00:00:00:00:01", netip.MustParseAddr("127.0.0.11")},
	{"m2", "02:00:00:00:00:02", netip.MustParseAddr("127.0.0.12")},
	{"m3", "02:00:00:00:00:03", netip.MustParseAddr("127.0.0.13")},
	{"m4", "02:00:00:00:00:04", netip.MustParseAddr("127.0.0.14")},
}

// startLab starts everything and runs a tracker with cfg (Client is set
// here) until the test ends.
func startLab(t *testing.T, cfg Config) *lab {
	t.Helper()
	cp := kubetest.Start(t, kubetest.Options{
		// The test kubelets post their status once; keep the node
		// lifecycle controller from marking them Unknown meanwhile.
		ControllerManagerArgs: []string{"--node-monitor-grace-period=10m"},
	})
	l := &lab{t: t, cp: cp, admin: kubernetes.NewForConfigOrDie(cp.Admin), log: &syncBuffer{}}
	applyRBAC(t, l.admin)
	rc := rest.CopyConfig(cp.Admin)
	rc.Impersonate = rest.ImpersonationConfig{UserName: "rackboot"}
	jc, err := join.ConfigFromREST(rc)
	if err != nil {
		t.Fatal(err)
	}
	if l.minter, err = join.New(jc); err != nil {
		t.Fatal(err)
	}
	l.inv = openInventory(t, cp)
	cfg.Client = kubernetes.NewForConfigOrDie(rc)
	cfg.Rescan = 200 * time.Millisecond
	log := slog.New(slog.NewTextHandler(l.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if l.tracker, err = New(cfg, l.inv, l.minter, log); err != nil {
		t.Fatal(err)
	}
	l.web = l.startWeb()
	l.run()
	return l
}

// run runs the tracker until the test ends and checks it stops cleanly.
// The tracker's log is printed when the test fails, or always with
// TRACKER_LOG=1.
func (l *lab) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.tracker.Run(ctx) }()
	l.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			l.t.Errorf("Run = %v, want nil after cancel", err)
		}
		if l.t.Failed() || os.Getenv("TRACKER_LOG") == "1" {
			l.t.Logf("tracker log:\n%s", l.log.String())
		}
	})
}

// openInventory writes the catalog: one Ignition worker profile whose
// API server and CA are the control plane's, and the lab machines.
func openInventory(t *testing.T, cp *kubetest.ControlPlane) *inventory.Inventory {
	t.Helper()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, cp.CA, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 64)
	var b strings.Builder
	fmt.Fprintf(&b, `profiles:
  - name: worker
    kernel: flatcar/vmlinuz
    ignition:
      os: flatcar
      kubernetesVersion: v1.37.2
      crioVersion: v1.37.0
      apiServer: %s
      clusterCAFile: %s
      clusterDNS: [10.96.0.10]
      kubelet: {asset: k8s/kubelet, sha512: %s}
      crio: {asset: crio/crio.raw, sha512: %s}
machines:
`, cp.Server, caFile, sum, sum)
	for _, m := range labMachines {
		fmt.Fprintf(&b, "  - {name: %s, macs: [%q], profile: worker, address: %s}\n", m.name, m.mac, m.ip)
	}
	c, err := inventory.ParseCatalog([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	s, err := inventory.OpenStore(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return inventory.New(c, s)
}

// startWeb serves rackboot's HTTP side on loopback, rendering Ignition
// with the minter's credentials and showing the tracker's view in the
// machine API.
func (l *lab) startWeb() string {
	l.t.Helper()
	const public = "http://127.0.0.1:8080"
	s, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: public,
		AssetsDir: l.t.TempDir()}, l.inv, nil)
	if err != nil {
		l.t.Fatal(err)
	}
	r, err := ignition.New(ignition.Config{BaseURL: public, Credentials: minterCreds{l.minter}})
	if err != nil {
		l.t.Fatal(err)
	}
	s.SetIgnition(r, l.inv)
	s.SetTracker(webTracker{l.tracker})
	admin, err := web.NewAdmin(s, web.AdminConfig{Addr: "127.0.0.1:0", Guard: openGuard{}})
	if err != nil {
		l.t.Fatal(err)
	}
	boot := s.BootHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasSuffix(r.URL.Path, "/callback") {
			admin.Handler().ServeHTTP(w, r)
			return
		}
		boot.ServeHTTP(w, r)
	}))
	l.t.Cleanup(srv.Close)
	return srv.URL
}

// openGuard lets every request through: these tests are about the
// tracker, not authentication.
type openGuard struct{}

func (openGuard) Require(next http.Handler) http.Handler         { return next }
func (openGuard) Login(w http.ResponseWriter, _ *http.Request)   { w.WriteHeader(http.StatusNoContent) }
func (openGuard) Logout(w http.ResponseWriter, _ *http.Request)  { w.WriteHeader(http.StatusNoContent) }
func (openGuard) Session(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
func (openGuard) Who(*http.Request) string                       { return "test" }
func (openGuard) Still(*http.Request) bool                       { return true }

// boot plays machine i from DHCP to its Ignition config: the DHCP server
// sees it, then it fetches its iPXE script, calls back from the booted
// OS and fetches its Ignition config, each from its own address.
func (l *lab) boot(i int) []byte {
	l.t.Helper()
	m := labMachines[i]
	if _, err := l.inv.Record(m.mac, inventory.Event{Kind: inventory.EventDHCPDiscover}); err != nil {
		l.t.Fatal(err)
	}
	c := machineClient(m.ip)
	l.get(c, "/ipxe?mac="+m.mac)
	resp, err := c.Post(l.web+"/api/v1/machines/"+m.mac+"/callback", "text/plain", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		l.t.Fatalf("%s calling back: %v %v", m.name, resp.Status, err)
	}
	resp.Body.Close()
	return l.get(c, "/ignition?mac="+m.mac)
}

func (l *lab) get(c *http.Client, path string) []byte {
	l.t.Helper()
	resp, err := c.Get(l.web + path)
	if err != nil {
		l.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		l.t.Fatalf("GET %s = %s %v: %s", path, resp.Status, err, body)
	}
	return body
}

// machineClient is an HTTP client whose connections come from ip.
func machineClient(ip netip.Addr) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}, Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext},
		Timeout: time.Minute}
}

// waitMachine waits until the tracker's view of machine i satisfies ok.
func (l *lab) waitMachine(ctx context.Context, i int, what string, ok func(Machine) bool) Machine {
	l.t.Helper()
	var last Machine
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			last, _ = l.tracker.Machine(labMachines[i].name)
			return ok(last), nil
		})
	if err != nil {
		l.t.Fatalf("waiting for %s to be %s: %v; last %+v", labMachines[i].name, what, err, last)
	}
	return last
}

// waitState waits for the tracker to show machine i in state s.
func (l *lab) waitState(ctx context.Context, i int, s inventory.State) Machine {
	l.t.Helper()
	return l.waitMachine(ctx, i, string(s), func(m Machine) bool { return m.State == s })
}

// timeline returns the kinds of machine i's events, oldest first.
func (l *lab) timeline(i int) []inventory.Event {
	l.t.Helper()
	tl, err := l.inv.Timeline(labMachines[i].mac)
	if err != nil {
		l.t.Fatal(err)
	}
	return tl
}

// applyRBAC creates the objects of deploy/rbac.yaml as cluster admin.
func applyRBAC(t *testing.T, admin kubernetes.Interface) {
	t.Helper()
	data, err := os.ReadFile("../deploy/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, doc := range strings.Split(string(data), "\n---\n") {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("decoding deploy/rbac.yaml: %v", err)
		}
		if err := create(ctx, admin, obj); err != nil {
			t.Fatalf("applying deploy/rbac.yaml: %v", err)
		}
	}
}

func create(ctx context.Context, cs kubernetes.Interface, obj any) error {
	var err error
	opts := metav1.CreateOptions{}
	switch o := obj.(type) {
	case *corev1.ServiceAccount:
		_, err = cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.ClusterRole:
		_, err = cs.RbacV1().ClusterRoles().Create(ctx, o, opts)
	case *rbacv1.ClusterRoleBinding:
		_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, o, opts)
	case *rbacv1.Role:
		_, err = cs.RbacV1().Roles(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.RoleBinding:
		_, err = cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, opts)
	default:
		err = fmt.Errorf("unexpected object %T", obj)
	}
	return err
}

// syncBuffer collects log output; safe for concurrent use.
type syncBuffer = testlog.Buffer
