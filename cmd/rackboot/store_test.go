package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rackboot/rackboot/inventory"
)

func TestStoreSettings(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	host := func() (string, error) { return "rack-host", nil }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want storeSettings // compared when err is ""
		err  string
	}{
		{"embedded default", nil, nil,
			storeSettings{Backend: "embedded"}, ""},
		{"kubernetes from the host", []string{"--store", "kubernetes"}, nil,
			storeSettings{Backend: "kubernetes", Namespace: "rackboot", ReplicaID: "rack-host"}, ""},
		{"kubernetes in a pod", []string{"--store", "kubernetes"},
			map[string]string{"POD_NAMESPACE": "boot", "POD_NAME": "rackboot-0"},
			storeSettings{Backend: "kubernetes", Namespace: "boot", ReplicaID: "rackboot-0"}, ""},
		{"flags beat the pod", []string{"--store", "kubernetes", "--store-namespace", "ns",
			"--replica-id", "r1"}, map[string]string{"POD_NAMESPACE": "boot", "POD_NAME": "p"},
			storeSettings{Backend: "kubernetes", Namespace: "ns", ReplicaID: "r1"}, ""},
		{"unknown store", []string{"--store", "etcd"}, nil, storeSettings{},
			`store: "etcd" is not embedded or kubernetes`},
		{"kubeconfig without the store", []string{"--store-kubeconfig", "k"}, nil, storeSettings{},
			"store-kubeconfig: only read with --store kubernetes"},
		{"bad namespace", []string{"--store", "kubernetes", "--store-namespace", "Rack_Boot"},
			nil, storeSettings{}, `store-namespace: "Rack_Boot" is not a namespace name`},
		{"replica with a space", []string{"--store", "kubernetes", "--replica-id", "a b"},
			nil, storeSettings{}, "replica-id"},
		{"renew past the lease", []string{"--store", "kubernetes", "--leader-renew-deadline", "20s"},
			nil, storeSettings{}, "leader-renew-deadline: 20s must be positive and shorter than the leader-lease-duration 15s"},
		{"retry past renew", []string{"--store", "kubernetes", "--leader-retry-period", "10s"},
			nil, storeSettings{}, "leader-retry-period: 10s"},
		{"sub-second lease", []string{"--store", "kubernetes", "--leader-lease-duration", "900ms"},
			nil, storeSettings{}, "leader-lease-duration: 900ms"},
		{"fractional lease", []string{"--store", "kubernetes", "--leader-lease-duration", "1500ms",
			"--leader-renew-deadline", "1200ms", "--leader-retry-period", "1s"}, nil, storeSettings{},
			"leader-lease-duration: 1.5s is not a whole number of seconds"},
		{"retry within jitter of renew", []string{"--store", "kubernetes", "--leader-renew-deadline", "2400ms"},
			nil, storeSettings{}, "leader-retry-period: 2s, times 1.2 for client-go's jitter, must be " +
				"shorter than the leader-renew-deadline 2.4s"},
		{"timings unchecked without election", []string{"--store", "kubernetes",
			"--leader-elect=false", "--leader-retry-period", "1m"}, nil,
			storeSettings{Backend: "kubernetes", Namespace: "rackboot", ReplicaID: "rack-host"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env = tt.env
			var st storeSettings
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			st.addFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := st.resolve(getenv, host)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("resolve(%q) = %v, want %q", tt.args, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve(%q) = %v", tt.args, err)
			}
			got := storeSettings{Backend: st.Backend, Namespace: st.Namespace, ReplicaID: st.ReplicaID}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resolve(%q) (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// fakeProfiles stands for the Kubernetes store's Profile resources.
type fakeProfiles struct {
	ps  []inventory.Profile
	bad []error
}

func (f *fakeProfiles) Profiles() ([]inventory.Profile, []error) { return f.ps, f.bad }

// Resource profiles join the file's when they pass its checks; a bad one,
// or one the file names too, is logged once and left out.
func TestCatalogsMergeResourceProfiles(t *testing.T) {
	dir := t.TempDir()
	assets := filepath.Join(dir, "assets")
	writeAsset(t, assets, "vmlinuz", "kernel")
	writeFile(t, filepath.Join(dir, "inventory.yaml"), `
profiles:
  - name: file
    kernel: vmlinuz
`)
	kernel := func(name, file string) inventory.Profile {
		return inventory.Profile{Name: name, Kernel: file,
			SHA256: map[string]string{file: sumsOf("kernel").SHA256}}
	}
	src := &fakeProfiles{
		ps: []inventory.Profile{kernel("cr", "vmlinuz"), kernel("file", "vmlinuz"),
			kernel("missing", "absent")},
		bad: []error{errors.New("profile broken: spec.kernel: required")},
	}
	var logs bytes.Buffer
	s := serveSettings{Inventory: filepath.Join(dir, "inventory.yaml"), AssetsDir: assets,
		Store: storeSettings{Backend: storeKubernetes}}
	c := newCatalogs(&s, src, slog.New(slog.NewTextHandler(&logs, nil)))
	if err := c.loadFile(); err != nil {
		t.Fatal(err)
	}
	base := c.base()
	var names []string
	for _, p := range base.Profiles() {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"cr", "file"}, names); diff != "" {
		t.Errorf("profiles of the base catalog (-want +got):\n%s", diff)
	}
	for _, want := range []string{"profile resource file left out: the inventory file defines file too",
		"profile resource missing left out", "profile broken"} {
		if strings.Count(logs.String(), want) != 1 {
			t.Errorf("log %q: want %q once", logs.String(), want)
		}
	}
	c.base()
	if n := strings.Count(logs.String(), "left out"); n != 3 {
		t.Errorf("after a second rebuild the log says left out %d times, want 3 (each once)", n)
	}
}

// With the Kubernetes store a missing inventory file declares nothing;
// with the embedded store it stops the start.
func TestCatalogsMissingFile(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		store   string
		wantErr bool
	}{{storeKubernetes, false}, {storeEmbedded, true}} {
		s := serveSettings{Inventory: filepath.Join(dir, "none.yaml"), AssetsDir: dir,
			Store: storeSettings{Backend: tt.store}}
		var src profileSource
		if tt.store == storeKubernetes {
			src = &fakeProfiles{}
		}
		c := newCatalogs(&s, src, slog.New(slog.DiscardHandler))
		err := c.loadFile()
		if (err != nil) != tt.wantErr {
			t.Errorf("%s store: loadFile() = %v, want error %v", tt.store, err, tt.wantErr)
		}
		if err == nil && len(c.base().Machines()) != 0 {
			t.Errorf("%s store: machines without a file = %v, want none", tt.store, c.base().Machines())
		}
	}
}

// With the Kubernetes store an inventory file that declares machines
// stops the start, naming the count and the conversion; a reload to such
// a file is refused and the catalog in force stays.
func TestCatalogsRefuseFileMachines(t *testing.T) {
	dir := t.TempDir()
	assets := filepath.Join(dir, "assets")
	writeAsset(t, assets, "vmlinuz", "kernel")
	path := filepath.Join(dir, "inventory.yaml")
	profiles := `
profiles:
  - name: file
    kernel: vmlinuz
`
	machines := `
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: file
  - name: node2
    macs: ["02:00:00:00:00:02"]
    profile: file
`
	s := serveSettings{Inventory: path, AssetsDir: assets, Store: storeSettings{Backend: storeKubernetes}}
	c := newCatalogs(&s, &fakeProfiles{}, slog.New(slog.DiscardHandler))
	writeFile(t, path, profiles+machines)
	err := c.loadFile()
	want := "declares 2 machines; with the kubernetes store it may declare profiles only"
	if err == nil || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "rackboot convert --inventory "+path) {
		t.Fatalf("loadFile(file with machines) = %v, want %q and the convert command", err, want)
	}

	writeFile(t, path, profiles)
	if err := c.loadFile(); err != nil {
		t.Fatalf("loadFile(profiles only) = %v", err)
	}
	writeFile(t, path, machines+"  - name: extra\n    macs: [\"02:00:00:00:00:03\"]\n    profile: file\n"+profiles)
	if err := c.loadFile(); err == nil || !strings.Contains(err.Error(), "declares 3 machines") {
		t.Errorf("reload to a file with machines = %v, want it refused", err)
	}
	base := c.base()
	if len(base.Profiles()) != 1 || len(base.Machines()) != 0 {
		t.Errorf("after the refused reload: profiles %v, machines %v; want profile file kept, no machine",
			base.Profiles(), base.Machines())
	}

	// The embedded store still takes them.
	s.Store.Backend = storeEmbedded
	if err := newCatalogs(&s, nil, slog.New(slog.DiscardHandler)).loadFile(); err != nil {
		t.Errorf("embedded store: loadFile(file with machines) = %v, want nil", err)
	}
}

// With --store-kubeconfig empty the store's cluster is found as kubectl
// (and install-crds) find it: $KUBECONFIG, then ~/.kube/config, then the
// pod's service account; with none of them the error names the setting.
func TestStoreConfigFollowsKubectl(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod
	t.Setenv("KUBECONFIG", "")
	if _, err := os.Stat(clientcmd.RecommendedHomeFile); err == nil {
		t.Logf("%s exists: not checking the error without any kubeconfig", clientcmd.RecommendedHomeFile)
	} else {
		_, err := storeConfig("", "r1")
		want := "no kubeconfig: pass --store-kubeconfig FILE or set RACKBOOT_STORE_KUBECONFIG"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("storeConfig without any kubeconfig = %v, want %q", err, want)
		}
	}

	env := filepath.Join(t.TempDir(), "env.kubeconfig")
	writeKubeconfig(t, env, &clientcmdapi.Cluster{Server: "https://127.0.0.2:6443"}, "t")
	flag := filepath.Join(t.TempDir(), "flag.kubeconfig")
	writeKubeconfig(t, flag, &clientcmdapi.Cluster{Server: "https://127.0.0.3:6443"}, "t")
	t.Setenv("KUBECONFIG", env)
	for _, tt := range []struct{ name, path, want string }{
		{"KUBECONFIG", "", "https://127.0.0.2:6443"},
		{"the setting first", flag, "https://127.0.0.3:6443"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := storeConfig(tt.path, "r1")
			if err != nil {
				t.Fatalf("storeConfig(%q) = %v", tt.path, err)
			}
			if rc.Host != tt.want || rc.UserAgent != "rackboot/r1" {
				t.Errorf("storeConfig(%q) = host %q, agent %q; want %q, rackboot/r1",
					tt.path, rc.Host, rc.UserAgent, tt.want)
			}
		})
	}
}
