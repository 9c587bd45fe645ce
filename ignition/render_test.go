package ignition

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v33 "github.com/coreos/ignition/v2/config/v3_3"
	v33types "github.com/coreos/ignition/v2/config/v3_3/types"
	v34 "github.com/coreos/ignition/v2/config/v3_4"
	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ignition")

// golden compares got with testdata/ignition/name, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./ignition -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file    string
		machine inventory.Machine
		profile inventory.Profile
	}{
		{"flatcar-worker.ign", node1, profile("flatcar-worker", flatcarSettings())},
		{"fcos-worker.ign", node2, profile("fcos-worker", fcosSettings())},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			creds := newCreds(t)
			got, err := newRenderer(t, creds).Render(context.Background(), tt.machine, tt.profile, 7)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if creds.lastMachine != tt.machine.Name || creds.lastGen != 7 {
				t.Errorf("BootstrapToken got machine %q generation %d, want %q 7",
					creds.lastMachine, creds.lastGen, tt.machine.Name)
			}
			golden(t, tt.file, got)
			golden(t, tt.file+".txt", describe(t, got))
		})
	}
}

// render renders node1 with s and parses the result in 3.3 types.
func render(t *testing.T, s *inventory.IgnitionSettings) v33types.Config {
	t.Helper()
	raw, err := newRenderer(t, newCreds(t)).Render(context.Background(), node1, profile("p", s), 1)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	cfg, rpt, err := v33.Parse(raw)
	if err != nil || len(rpt.Entries) > 0 {
		t.Fatalf("v3_3.Parse(rendered) = %v, report %s", err, rpt)
	}
	return cfg
}

// files returns the paths of cfg's files, links and directories.
func files(cfg v33types.Config) map[string]bool {
	out := map[string]bool{}
	for _, f := range cfg.Storage.Files {
		out[f.Path] = true
	}
	for _, l := range cfg.Storage.Links {
		out[l.Path] = true
	}
	for _, d := range cfg.Storage.Directories {
		out[d.Path] = true
	}
	return out
}

func TestRenderKubeProxyModes(t *testing.T) {
	tests := []struct {
		mode       inventory.KubeProxyMode
		wantProxy  bool
		wantModule bool // ip_vs
	}{
		{"", true, false},
		{inventory.KubeProxyIPTables, true, false},
		{inventory.KubeProxyIPVS, true, true},
		{inventory.KubeProxyDaemonSet, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			s := flatcarSettings()
			s.KubeProxyMode = tt.mode
			cfg := render(t, s)
			got := files(cfg)
			for _, p := range []string{kubeProxyManifest, kubeProxyKubeconfig, kubeProxyConfigPath} {
				if got[p] != tt.wantProxy {
					t.Errorf("mode %q: file %s present = %v, want %v", tt.mode, p, got[p], tt.wantProxy)
				}
			}
			modules := fileData(t, cfg, "/etc/modules-load.d/rackboot-kubernetes.conf")
			if strings.Contains(modules, "ip_vs\n") != tt.wantModule {
				t.Errorf("mode %q: modules = %q, want ip_vs %v", tt.mode, modules, tt.wantModule)
			}
		})
	}
}

func TestRenderDaemonSetNeedsNoCertificate(t *testing.T) {
	s := flatcarSettings()
	s.KubeProxyMode = inventory.KubeProxyDaemonSet
	creds := newCreds(t)
	creds.cert = ClientCertificate{} // would fail the check if asked for
	if _, err := newRenderer(t, creds).Render(context.Background(), node1, profile("p", s), 1); err != nil {
		t.Fatalf("Render: %v", err)
	}
	if creds.proxyCalls != 0 {
		t.Errorf("KubeProxyCertificate called %d times in daemonset mode, want 0", creds.proxyCalls)
	}
}

func TestRenderSpec34(t *testing.T) {
	s := flatcarSettings()
	s.SpecVersion = inventory.SpecVersion34
	raw, err := newRenderer(t, newCreds(t)).Render(context.Background(), node1, profile("p", s), 1)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	cfg, rpt, err := v34.Parse(raw)
	if err != nil || len(rpt.Entries) > 0 {
		t.Fatalf("v3_4.Parse(rendered) = %v, report %s", err, rpt)
	}
	if cfg.Ignition.Version != "3.4.0" {
		t.Errorf("version = %q, want 3.4.0", cfg.Ignition.Version)
	}
	var motd bool
	for _, f := range cfg.Storage.Files {
		motd = motd || f.Path == "/etc/motd.d/site.conf"
	}
	if !motd {
		t.Error("the Butane snippet's file is missing from the 3.4.0 config")
	}
}

func TestRenderNodeFlags(t *testing.T) {
	cfg := render(t, flatcarSettings())
	got := fileData(t, cfg, kubeletEnvPath)
	want := "# Written by rackboot.\nKUBELET_ARGS=--hostname-override=node1 --node-ip=10.99.0.50 " +
		"--node-labels=example.com/role=gpu,node.kubernetes.io/pool=workers,rack=r1\n"
	if got != want {
		t.Errorf("kubelet.env = %q, want %q", got, want)
	}
}

func TestRenderButaneOverrides(t *testing.T) {
	s := flatcarSettings()
	s.Butane = "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n" +
		"    - path: /etc/hostname\n      overwrite: true\n      contents:\n        inline: site-name\n"
	cfg := render(t, s)
	if got := fileData(t, cfg, "/etc/hostname"); got != "site-name" {
		t.Errorf("/etc/hostname = %q, want the snippet's %q", got, "site-name")
	}
}

func TestRenderErrors(t *testing.T) {
	otherCA := readTestdata(t, "kube-proxy-other-ca.crt")
	tests := []struct {
		name    string
		edit    func(*inventory.IgnitionSettings, *staticCreds, *inventory.Machine)
		wantErr string
	}{
		{"short token id", func(_ *inventory.IgnitionSettings, c *staticCreds, _ *inventory.Machine) {
			c.token.ID = "abc"
		}, "bootstrap token: id"},
		{"upper-case secret", func(_ *inventory.IgnitionSettings, c *staticCreds, _ *inventory.Machine) {
			c.token.Secret = "0123456789ABCDEF"
		}, "bootstrap token: secret"},
		{"credentials fail", func(_ *inventory.IgnitionSettings, c *staticCreds, _ *inventory.Machine) {
			c.err = errors.New("api server unreachable")
		}, "getting the bootstrap token of node1: api server unreachable"},
		{"certificate of another CA", func(_ *inventory.IgnitionSettings, c *staticCreds, _ *inventory.Machine) {
			c.cert.CertPEM = otherCA
		}, "not valid under the profile's cluster CA"},
		{"key of another certificate", func(_ *inventory.IgnitionSettings, c *staticCreds, _ *inventory.Machine) {
			c.cert.CertPEM = readTestdata(t, "ca.crt")
		}, "do not make a pair"},
		{"missing CA file", func(s *inventory.IgnitionSettings, _ *staticCreds, _ *inventory.Machine) {
			s.ClusterCAFile = filepath.Join(t.TempDir(), "nope.crt")
		}, "reading cluster CA"},
		{"CA file is a key", func(s *inventory.IgnitionSettings, _ *staticCreds, _ *inventory.Machine) {
			s.ClusterCAFile = filepath.Join(goldenDir, "kube-proxy.key")
		}, "is not a certificate"},
		{"machine label kubelet may not set", func(_ *inventory.IgnitionSettings, _ *staticCreds, m *inventory.Machine) {
			m.Labels = map[string]string{"node-role.kubernetes.io/worker": ""}
		}, "machine node1: labels[node-role.kubernetes.io/worker]"},
		{"machine label with a comma", func(_ *inventory.IgnitionSettings, _ *staticCreds, m *inventory.Machine) {
			m.Labels = map[string]string{"rack": "r1,r2"}
		}, "value \"r1,r2\""},
		{"butane of another variant", func(s *inventory.IgnitionSettings, _ *staticCreds, _ *inventory.Machine) {
			s.Butane = "variant: fcos\nversion: 1.4.0\n"
		}, "write variant: flatcar and version: 1.0.0"},
		{"butane not yaml", func(s *inventory.IgnitionSettings, _ *staticCreds, _ *inventory.Machine) {
			s.Butane = "storage: [\n"
		}, "butane snippet"},
		{"butane unknown key", func(s *inventory.IgnitionSettings, _ *staticCreds, _ *inventory.Machine) {
			s.Butane = "storage:\n  filez: []\n"
		}, "butane snippet (line numbers count 2 header lines rackboot added)"},
		{"butane local file", func(s *inventory.IgnitionSettings, _ *staticCreds, _ *inventory.Machine) {
			s.Butane = "storage:\n  files:\n    - path: /etc/x\n      contents:\n        local: x\n"
		}, "butane snippet"},
		{"butane invalid ignition", func(s *inventory.IgnitionSettings, _ *staticCreds, _ *inventory.Machine) {
			s.Butane = "systemd:\n  units:\n    - name: nosuffix\n"
		}, "butane snippet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, creds, m := flatcarSettings(), newCreds(t), node1
			tt.edit(s, creds, &m)
			got, err := newRenderer(t, creds).Render(context.Background(), m, profile("p", s), 1)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Render = %v, want error containing %q", err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("Render returned %d bytes with its error, want none", len(got))
			}
			if strings.Contains(err.Error(), testToken.Secret) {
				t.Errorf("error %q holds the token secret", err)
			}
		})
	}
}

func TestRenderNoCluster(t *testing.T) {
	r := newRenderer(t, nil)
	got, err := r.Render(context.Background(), node1, profile("p", flatcarSettings()), 1)
	if !errors.Is(err, ErrNoCluster) || got != nil {
		t.Fatalf("Render without credentials = %d bytes, %v, want ErrNoCluster", len(got), err)
	}
	if err.Error() != "no cluster configured" {
		t.Errorf("error = %q, want %q", err, "no cluster configured")
	}
}

func TestRenderNoSettings(t *testing.T) {
	_, err := newRenderer(t, newCreds(t)).Render(context.Background(), node1, profile("p", nil), 1)
	if err == nil || !strings.Contains(err.Error(), "profile p has no ignition settings") {
		t.Fatalf("Render = %v, want no-settings error", err)
	}
}

func TestSecretsHidden(t *testing.T) {
	creds := newCreds(t)
	for _, v := range []any{testToken, &testToken, creds.cert} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			got := sprintf(verb, v)
			if strings.Contains(got, testToken.Secret) || strings.Contains(got, "PRIVATE KEY") {
				t.Errorf("Sprintf(%q, %T) = %q shows a secret", verb, v, got)
			}
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		base    string
		wantErr bool
	}{
		{"http://192.0.2.10:8080", false},
		{"https://boot.example.com/rackboot/", false},
		{"ftp://192.0.2.10", true},
		{"http://", true},
		{"http://h/?x=1", true},
		{"http://user@h/", true},
		{"", true},
	}
	for _, tt := range tests {
		_, err := New(Config{BaseURL: tt.base})
		if (err != nil) != tt.wantErr {
			t.Errorf("New(%q) = %v, want error %v", tt.base, err, tt.wantErr)
		}
	}
}

func TestParseToken(t *testing.T) {
	tests := []struct {
		in      string
		want    Token
		wantErr bool
	}{
		{"abcdef.0123456789abcdef", testToken, false},
		{"abcdef0123456789abcdef", Token{}, true},
		{"abcdef.0123456789abcde", Token{}, true},
		{"ABCDEF.0123456789abcdef", Token{}, true},
		{"", Token{}, true},
	}
	for _, tt := range tests {
		got, err := ParseToken(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && got != tt.want {
			t.Errorf("ParseToken(%q) = %v, %v, want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
