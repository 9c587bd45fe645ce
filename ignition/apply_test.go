package ignition

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/web"
)

// debianIgnition is where Debian's ignition package puts the Ignition
// binary (it runs in the initramfs, so it is not on PATH).
const debianIgnition = "/usr/lib/dracut/modules.d/30ignition/ignition"

// TestApplyWithRealIgnition renders a Flatcar worker, serves its
// downloads from rackboot's own asset handler on loopback, runs Debian's
// real Ignition (fetch, then files) into a scratch root, and checks what
// landed there.
func TestApplyWithRealIgnition(t *testing.T) {
	needIgnition(t)
	base := serveAssets(t, goodAssets)
	root, cache := apply(t, base, node1, flatcarSettings())
	checkTree(t, root, []landed{
		{path: "/opt/bin/kubelet", mode: 0o755, data: string(fakeKubelet)},
		{path: "/opt/extensions/crio/crio-v1.34.1.raw", mode: 0o644, data: string(fakeCRIO)},
		{path: "/etc/extensions/crio.raw", link: "/opt/extensions/crio/crio-v1.34.1.raw"},
		{path: "/etc/extensions/docker-flatcar.raw", link: "/dev/null"},
		{path: "/etc/systemd/system/swap.target", link: "/dev/null"},
		{path: "/etc/crio/crio.conf.d/10-rackboot.conf", mode: 0o644, has: `cgroup_manager = "systemd"`},
		{path: "/etc/containers/registries.conf.d/10-rackboot-mirrors.conf", mode: 0o644,
			has: `location = "mirror.example.com:5000/k8s"`},
		{path: "/etc/systemd/system/kubelet.service", mode: 0o644,
			has: "ExecStart=/opt/bin/kubelet --config=/var/lib/kubelet/config.yaml"},
		{path: "/etc/kubernetes/bootstrap-kubelet.conf", mode: 0o600,
			has: "token: " + testToken.value()},
		{path: "/etc/kubernetes/pki/ca.crt", mode: 0o644,
			data: string(readTestdata(t, "ca.crt"))},
		{path: "/var/lib/kubelet/config.yaml", mode: 0o644, has: "providerID: rackboot://node1"},
		{path: "/etc/kubernetes/kubelet.env", mode: 0o644, has: "--node-ip=10.99.0.50"},
		{path: "/etc/kubernetes/manifests", mode: 0o755 | fs.ModeDir},
		{path: "/etc/kubernetes/manifests/kube-proxy.yaml", mode: 0o644,
			has: "image: registry.k8s.io/kube-proxy:v1.34.2"},
		{path: "/var/lib/kube-proxy/kubeconfig", mode: 0o600, has: "client-key-data: "},
		{path: "/var/lib/kube-proxy/config.yaml", mode: 0o644, has: "mode: iptables"},
		{path: "/etc/modules-load.d/rackboot-kubernetes.conf", mode: 0o644, data: "overlay\nbr_netfilter\n"},
		{path: "/etc/sysctl.d/rackboot-kubernetes.conf", mode: 0o644, data: sysctls},
		{path: "/etc/hostname", mode: 0o644, data: "node1\n"},
		{path: "/etc/motd.d/site.conf", mode: 0o644, data: "Managed by rackboot."},
	})
	// Ignition relabels the topmost folder it created, or the file.
	relabeled := strings.Split(readFile(t, filepath.Join(cache, "relabeled")), "\n")
	for _, p := range []string{"opt", "etc/kubernetes/bootstrap-kubelet.conf"} {
		if !slices.Contains(relabeled, filepath.Join(root, p)) {
			t.Errorf("relabeled paths = %q, want %s among them", relabeled, p)
		}
	}
	presets := readFile(t, filepath.Join(root, "etc/systemd/system-preset/20-ignition.preset"))
	for _, unit := range []string{"kubelet.service", "crio.service", "systemd-sysext.service"} {
		if !strings.Contains(presets, "enable "+unit+"\n") {
			t.Errorf("presets = %q, want enable %s", presets, unit)
		}
	}
}

// TestApplyFCOSWithRealIgnition does the same for a Fedora CoreOS worker,
// whose files go to other places.
func TestApplyFCOSWithRealIgnition(t *testing.T) {
	needIgnition(t)
	base := serveAssets(t, goodAssets)
	root, _ := apply(t, base, node2, fcosSettings())
	checkTree(t, root, []landed{
		{path: "/usr/local/bin/kubelet", mode: 0o755, data: string(fakeKubelet)},
		{path: "/var/lib/rackboot/extensions/crio-v1.34.1.raw", mode: 0o644, data: string(fakeCRIO)},
		{path: "/etc/extensions/crio.raw", link: "/var/lib/rackboot/extensions/crio-v1.34.1.raw"},
		{path: "/etc/systemd/zram-generator.conf", mode: 0o644, has: "no swap on zram"},
		{path: "/etc/systemd/system/kubelet.service", mode: 0o644,
			has: "ExecStart=/usr/local/bin/kubelet "},
		{path: "/etc/kubernetes/kubelet.env", mode: 0o644,
			data: "# Written by rackboot.\nKUBELET_ARGS=--hostname-override=node2\n"},
		{path: "/var/lib/kubelet/config.yaml", mode: 0o644, has: "clusterDomain: k8s.example.com"},
		{path: "/var/lib/kube-proxy/config.yaml", mode: 0o644, has: "mode: ipvs"},
		{path: "/etc/modules-load.d/rackboot-kubernetes.conf", mode: 0o644,
			data: "overlay\nbr_netfilter\nip_vs\nip_vs_rr\nip_vs_wrr\nip_vs_sh\nnf_conntrack\n"},
	})
	for _, p := range []string{"etc/extensions/docker-flatcar.raw", "etc/containers/registries.conf.d"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s on Fedora CoreOS: %v, want it absent", p, err)
		}
	}
}

// TestApplyRefusesCorruptAsset checks that Ignition fails when a download
// does not match its sha512, leaving no kubelet behind.
func TestApplyRefusesCorruptAsset(t *testing.T) {
	needIgnition(t)
	base := serveAssets(t, map[string][]byte{
		"k8s/v1.34.2/kubelet":   []byte("tampered"),
		"crio/crio-v1.34.1.raw": fakeCRIO,
	})
	root, cache := prepareRoot(t, renderFor(t, base, node1, flatcarSettings()))
	runStage(t, root, cache, "fetch")
	out, err := ignitionStage(root, cache, "files")
	if err == nil {
		t.Fatalf("files stage succeeded with a tampered kubelet:\n%s", out)
	}
	if !strings.Contains(out, "hash") {
		t.Errorf("files stage output does not mention the hash:\n%s", out)
	}
	if _, err := os.Lstat(filepath.Join(root, "opt/bin/kubelet")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("kubelet present after a failed verification: %v", err)
	}
}

// goodAssets are the downloads of flatcarSettings and fcosSettings.
var goodAssets = map[string][]byte{
	"k8s/v1.34.2/kubelet":   fakeKubelet,
	"crio/crio-v1.34.1.raw": fakeCRIO,
}

func needIgnition(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: Ignition's files stage sets owners and modes")
	}
	if _, err := os.Stat(debianIgnition); err != nil {
		t.Skipf("Debian's ignition binary is missing (apt-get install ignition): %v", err)
	}
}

// renderFor renders the config of m under s with downloads from base.
// SSH keys are left out: a scratch root has no passwd database to edit.
func renderFor(t *testing.T, base string, m inventory.Machine, s *inventory.IgnitionSettings) []byte {
	t.Helper()
	s.SSHAuthorizedKeys = nil
	r, err := New(Config{BaseURL: base, Credentials: newCreds(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := r.Render(context.Background(), m, profile("worker", s), 1)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return cfg
}

// apply renders the config of m and applies it with Ignition's fetch and
// files stages to a scratch root.
func apply(t *testing.T, base string, m inventory.Machine, s *inventory.IgnitionSettings) (root, cache string) {
	t.Helper()
	root, cache = prepareRoot(t, renderFor(t, base, m, s))
	runStage(t, root, cache, "fetch")
	runStage(t, root, cache, "files")
	return root, cache
}

// serveAssets writes files into a temporary assets directory and serves it
// with rackboot's web server on 127.0.0.1; it returns the base URL.
func serveAssets(t *testing.T, files map[string][]byte) string {
	t.Helper()
	assets := t.TempDir()
	for name, data := range files {
		path := filepath.Join(assets, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cat, err := inventory.ParseCatalog([]byte("profiles: []\nmachines: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv, err := web.NewServer(web.Config{Addr: ln.Addr().String(), PublicURL: base,
		AssetsDir: assets}, inventory.New(cat, store), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("web server: %v", err)
		}
	})
	return base
}

// prepareRoot makes a scratch root and cache folder and writes cfg.
func prepareRoot(t *testing.T, cfg []byte) (root, cache string) {
	t.Helper()
	dir := t.TempDir()
	root, cache = filepath.Join(dir, "root"), filepath.Join(dir, "cache")
	for _, d := range []string{filepath.Join(root, "etc/selinux"), cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Debian's Ignition is built to relabel what it writes: it reads the
	// policy name from the root's SELinux config and runs setfiles, which
	// Debian does not install. A stand-in setfiles records the paths.
	writeFile(t, filepath.Join(root, "etc/selinux/config"),
		"SELINUX=disabled\nSELINUXTYPE=targeted\n")
	writeFile(t, filepath.Join(cache, "setfiles"),
		"#!/bin/sh\ntr '\\000' '\\n' >> "+filepath.Join(cache, "relabeled")+"\n")
	if err := os.Chmod(filepath.Join(cache, "setfiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(cache, "config.ign"), string(cfg))
	return root, cache
}

func runStage(t *testing.T, root, cache, stage string) {
	t.Helper()
	if out, err := ignitionStage(root, cache, stage); err != nil {
		t.Fatalf("ignition -stage %s: %v\n%s", stage, err, out)
	}
}

func ignitionStage(root, cache, stage string) (string, error) {
	cmd := exec.Command(debianIgnition, "-platform", "file", "-stage", stage,
		"-root", root, "-config-cache", filepath.Join(cache, "ig.json"),
		"-state-file", filepath.Join(cache, "state"), "-log-to-stdout")
	cmd.Env = append(os.Environ(), "IGNITION_CONFIG_FILE="+filepath.Join(cache, "config.ign"),
		"PATH="+cache+string(filepath.ListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// landed is what one path under the root must be: a file with a mode and
// exact data or a substring, a directory, or a symbolic link.
type landed struct {
	path string
	mode fs.FileMode
	data string // exact contents, if set
	has  string // substring of the contents, if set
	link string // symbolic link target, if set
}

func checkTree(t *testing.T, root string, want []landed) {
	t.Helper()
	for _, w := range want {
		full := filepath.Join(root, w.path)
		fi, err := os.Lstat(full)
		if err != nil {
			t.Errorf("%s: %v", w.path, err)
			continue
		}
		if w.link != "" {
			target, err := os.Readlink(full)
			if err != nil || target != w.link {
				t.Errorf("readlink %s = %q, %v, want %q", w.path, target, err, w.link)
			}
			continue
		}
		if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != w.mode {
			t.Errorf("mode of %s = %v, want %v", w.path, got, w.mode)
		}
		if fi.IsDir() {
			continue
		}
		got := readFile(t, full)
		if w.data != "" && got != w.data {
			t.Errorf("%s = %q, want %q", w.path, got, w.data)
		}
		if w.has != "" && !strings.Contains(got, w.has) {
			t.Errorf("%s = %q, want it to contain %q", w.path, got, w.has)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
