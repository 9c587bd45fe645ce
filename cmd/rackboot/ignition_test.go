package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rackboot/rackboot/ignition"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/join"
	"github.com/rackboot/rackboot/web"
)

// testCAFile is a cluster CA certificate the ignition package's tests use.
const testCAFile = "../../testdata/ignition/ca.crt"

func TestCheckJoin(t *testing.T) {
	tests := []struct {
		name       string
		token, kpc time.Duration
		want       string // "" means valid
	}{
		{"defaults", time.Hour, 0, ""},
		{"short token, long certificate", time.Minute, 24 * time.Hour, ""},
		{"certificate at the minimum", time.Hour, 10 * time.Minute, ""},
		{"zero token ttl", 0, 0, "token-ttl: 0s is not a positive duration"},
		{"negative token ttl", -time.Hour, 0, "token-ttl"},
		{"certificate too short", time.Hour, 5 * time.Minute, "kube-proxy-cert-ttl: 5m0s"},
		{"negative certificate", time.Hour, -time.Hour, "kube-proxy-cert-ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serveSettings{TokenTTL: tt.token, KubeProxyCertTTL: tt.kpc}
			err := s.checkJoin()
			if got := errString(err); !strings.Contains(got, tt.want) || (tt.want == "") != (err == nil) {
				t.Errorf("checkJoin(token-ttl %v, kube-proxy-cert-ttl %v) = %q, want %q",
					tt.token, tt.kpc, got, tt.want)
			}
		})
	}
}

func TestJoinSettingsFromEverywhere(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rackboot.yaml")
	writeFile(t, file, "kubeconfig: /etc/rackboot/kubeconfig\nkube-proxy-cert-ttl: 720h\n")
	env := map[string]string{"RACKBOOT_CONFIG": file, "RACKBOOT_TOKEN_TTL": "30m"}
	var s serveSettings
	if err := parseSettings(newServeFlags(&s), nil, mapEnv(env)); err != nil {
		t.Fatal(err)
	}
	got := []any{s.Kubeconfig, s.TokenTTL, s.KubeProxyCertTTL}
	want := []any{"/etc/rackboot/kubeconfig", 30 * time.Minute, 720 * time.Hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kubeconfig, token-ttl, kube-proxy-cert-ttl (-want +got):\n%s", diff)
	}

	var d serveSettings
	if err := parseSettings(newServeFlags(&d), nil, mapEnv(nil)); err != nil {
		t.Fatal(err)
	}
	if d.Kubeconfig != "" || d.TokenTTL != join.DefaultTTL || d.KubeProxyCertTTL != 0 {
		t.Errorf("defaults = %q, %v, %v; want Ignition off, %v, 0",
			d.Kubeconfig, d.TokenTTL, d.KubeProxyCertTTL, join.DefaultTTL)
	}
}

func TestNewMinter(t *testing.T) {
	ca, err := os.ReadFile(testCAFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	writeFile(t, caFile, string(ca))
	tests := []struct {
		name    string
		cluster *clientcmdapi.Cluster // nil: no file at all
		raw     string                // file content instead of cluster
		zeroTTL bool                  // --token-ttl 0
		want    string                // "" means valid
	}{
		{name: "ca data", cluster: &clientcmdapi.Cluster{Server: "https://192.0.2.10:6443",
			CertificateAuthorityData: ca}},
		{name: "ca file", cluster: &clientcmdapi.Cluster{Server: "https://192.0.2.10:6443",
			CertificateAuthority: caFile}},
		{name: "no file", want: "kubeconfig: "},
		{name: "not a kubeconfig", raw: "clusters: 7\n", want: "kubeconfig: "},
		{name: "http server", cluster: &clientcmdapi.Cluster{Server: "http://192.0.2.10:6443",
			CertificateAuthorityData: ca}, want: "join config: server"},
		{name: "no ca", cluster: &clientcmdapi.Cluster{Server: "https://192.0.2.10:6443"},
			want: "join config: ca"},
		{name: "zero token ttl", cluster: &clientcmdapi.Cluster{Server: "https://192.0.2.10:6443",
			CertificateAuthorityData: ca}, zeroTTL: true, want: "token-ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".kubeconfig")
			switch {
			case tt.raw != "":
				writeFile(t, path, tt.raw)
			case tt.cluster != nil:
				writeKubeconfig(t, path, tt.cluster, "token-0123456789")
			}
			s := serveSettings{Kubeconfig: path, TokenTTL: time.Hour}
			if tt.zeroTTL {
				s.TokenTTL = 0
			}
			m, _, err := newMinter(&s, nil)
			if got := errString(err); !strings.Contains(got, tt.want) || (tt.want == "") != (err == nil) {
				t.Fatalf("newMinter(%s) = %v, %q; want error %q", tt.name, m, got, tt.want)
			}
			if strings.HasPrefix(tt.want, "join config") && !strings.Contains(err.Error(), path) {
				t.Errorf("newMinter(%s) error %q does not name the kubeconfig file", tt.name, err)
			}
		})
	}
}

// writeKubeconfig writes a kubeconfig for cluster and a bearer token.
func writeKubeconfig(t *testing.T, path string, cluster *clientcmdapi.Cluster, token string) {
	t.Helper()
	c := clientcmdapi.NewConfig()
	c.Clusters["c"] = cluster
	c.AuthInfos["rackboot"] = &clientcmdapi.AuthInfo{Token: token}
	c.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "rackboot"}
	c.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*c, path); err != nil {
		t.Fatal(err)
	}
}

// fakeMinter hands out numbered credentials and counts the calls.
type fakeMinter struct {
	mu       sync.Mutex
	tokens   int
	certs    int
	token    string // Token of every BootstrapToken answer
	validity time.Duration
	now      func() time.Time
	err      error
}

func (f *fakeMinter) BootstrapToken(_ context.Context, machine string, gen uint64) (join.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens++
	return join.Credentials{Token: f.token}, f.err
}

func (f *fakeMinter) KubeProxy(_ context.Context, machine string, gen uint64) (join.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return join.Credentials{}, f.err
	}
	f.certs++
	return join.Credentials{
		Cert:    []byte(fmt.Sprintf("cert %d of %s gen %d", f.certs, machine, gen)),
		Key:     []byte(fmt.Sprintf("key %d", f.certs)),
		Expires: f.now().Add(f.validity),
	}, nil
}

func TestJoinCredentialsToken(t *testing.T) {
	tests := []struct {
		name  string
		token string
		err   error
		want  ignition.Token
		fails string
	}{
		{name: "token", token: "abcdef.0123456789abcdef",
			want: ignition.Token{ID: "abcdef", Secret: "0123456789abcdef"}},
		{name: "malformed token", token: "abcdef", fails: "bootstrap token: secret"},
		{name: "minter error", err: errors.New("cluster unreachable"), fails: "cluster unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJoinCredentials(&fakeMinter{token: tt.token, err: tt.err})
			got, err := j.BootstrapToken(context.Background(), "node1", 1)
			if errString(err) != "" || tt.fails != "" {
				if !strings.Contains(errString(err), tt.fails) || tt.fails == "" {
					t.Fatalf("BootstrapToken = %v, want error %q", err, tt.fails)
				}
				return
			}
			if got != tt.want {
				t.Errorf("BootstrapToken = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestJoinCredentialsKeepsCertificates walks one machine through a
// sequence of renders and counts the certificates the minter issued.
func TestJoinCredentialsKeepsCertificates(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	f := &fakeMinter{validity: 24 * time.Hour, now: clock}
	j := newJoinCredentials(f)
	j.now = clock
	steps := []struct {
		name    string
		advance time.Duration
		machine string
		gen     uint64
		issued  int // certificates issued so far
		cert    string
	}{
		{"first render", 0, "node1", 1, 1, "cert 1 of node1 gen 1"},
		{"retry of the same generation", time.Minute, "node1", 1, 1, "cert 1 of node1 gen 1"},
		{"another machine", 0, "node2", 1, 2, "cert 2 of node2 gen 1"},
		{"a new generation", 0, "node1", 2, 3, "cert 3 of node1 gen 2"},
		{"earlier generation again", 0, "node1", 1, 4, "cert 4 of node1 gen 1"},
		{"past half its validity", 13 * time.Hour, "node1", 1, 5, "cert 5 of node1 gen 1"},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		c, err := j.KubeProxyCertificate(context.Background(), st.machine, st.gen)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if string(c.CertPEM) != st.cert || f.certs != st.issued {
			t.Errorf("%s: KubeProxyCertificate(%s, %d) = %q after %d issued, want %q after %d",
				st.name, st.machine, st.gen, c.CertPEM, f.certs, st.cert, st.issued)
		}
	}

	f.err = errors.New("signer down")
	if _, err := j.KubeProxyCertificate(context.Background(), "node3", 1); !errors.Is(err, f.err) {
		t.Errorf("KubeProxyCertificate with a failing minter = %v, want %v", err, f.err)
	}
}

func TestJoinCredentialsConcurrentRenders(t *testing.T) {
	f := &fakeMinter{validity: time.Hour, now: time.Now}
	j := newJoinCredentials(f)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := j.KubeProxyCertificate(context.Background(), "node1", 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if f.certs != 1 {
		t.Errorf("8 concurrent renders of node1 generation 1 issued %d certificates, want 1", f.certs)
	}
}

// ignitionInventory writes an inventory with one Ignition worker, its
// cluster CA and artifacts into dir and returns the catalog.
func ignitionInventory(t *testing.T, dir, ca string) *inventory.Catalog {
	t.Helper()
	assets := filepath.Join(dir, "assets")
	for name, content := range map[string]string{"vmlinuz": "kernel", "kubelet": "kubelet",
		"crio.raw": "crio"} {
		writeAsset(t, assets, name, content)
	}
	writeFile(t, filepath.Join(dir, "ca.crt"), ca)
	inv := fmt.Sprintf(`
profiles:
  - name: worker
    kernel: vmlinuz
    ignition:
      os: flatcar
      kubernetesVersion: v1.37.2
      crioVersion: v1.37.0
      apiServer: https://192.0.2.10:6443
      clusterCAFile: %s
      clusterDNS: [10.96.0.10]
      kubelet: {asset: kubelet, sha512: "%s"}
      crio: {asset: crio.raw, sha512: "%s"}
machines:
  - name: node1
    macs: ["02:00:00:00:00:01"]
    profile: worker
`, filepath.Join(dir, "ca.crt"), sumsOf("kubelet").SHA512, sumsOf("crio").SHA512)
	path := filepath.Join(dir, "inventory.yaml")
	writeFile(t, path, inv)
	c, err := inventory.LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeAsset(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, name), content)
}

func TestVerifyAssetsIgnition(t *testing.T) {
	ca, err := os.ReadFile(testCAFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		ca    string
		spoil func(t *testing.T, dir string) // nil: leave the files as they are
		want  string                         // "" means valid
	}{
		{name: "complete", ca: string(ca)},
		{name: "ca file not pem", ca: "not a certificate", want: "ignition.clusterCAFile"},
		{name: "kubelet missing", ca: string(ca), want: "asset kubelet",
			spoil: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "assets", "kubelet")) }},
		{name: "crio changed", ca: string(ca), want: "asset crio.raw: sha512",
			spoil: func(t *testing.T, dir string) { writeAsset(t, filepath.Join(dir, "assets"), "crio.raw", "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := ignitionInventory(t, dir, tt.ca)
			if tt.spoil != nil {
				tt.spoil(t, dir)
			}
			err := verifyAssets(c, filepath.Join(dir, "assets"))
			if got := errString(err); !strings.Contains(got, tt.want) || (tt.want == "") != (err == nil) {
				t.Errorf("verifyAssets(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestIgnitionOff checks that without --kubeconfig rackboot says so once
// and /ignition answers 404.
func TestIgnitionOff(t *testing.T) {
	ca, err := os.ReadFile(testCAFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := newIgnitionEnv(t, dir, ignitionInventory(t, dir, string(ca)))
	var logs strings.Builder
	runners, tr, err := setupCluster(&e.settings, e.web, e.inv, prometheus.NewRegistry(), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || runners != nil || tr != nil {
		t.Fatalf("setupCluster without kubeconfig = %v, %v, %v; want nil, nil, nil", runners, tr, err)
	}
	if want := `level=WARN msg="ignition and tracker off: no kubeconfig, /ignition answers 404" ignition_profiles=1`; !strings.Contains(logs.String(), want) {
		t.Errorf("log = %q, want a line containing %q", logs.String(), want)
	}
	code, body := e.get(t, "/ignition?mac=02-00-00-00-00-01")
	if code != 404 || !strings.Contains(body, "ignition not configured") {
		t.Errorf("GET /ignition = %d %q, want 404 ignition not configured", code, body)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ignitionEnv is rackboot's HTTP side over a real store, as serve builds
// it, without DHCP and TFTP.
type ignitionEnv struct {
	settings serveSettings
	inv      *inventory.Inventory
	web      *web.Server
	url      string
}

func newIgnitionEnv(t *testing.T, dir string, c *inventory.Catalog) *ignitionEnv {
	t.Helper()
	store, err := inventory.OpenStore(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &ignitionEnv{inv: inventory.New(c, store)}
	if err := parseSettings(newServeFlags(&e.settings), nil, mapEnv(nil)); err != nil {
		t.Fatal(err)
	}
	e.settings.AssetsDir = filepath.Join(dir, "assets")
	ts := httptest.NewUnstartedServer(nil)
	e.url = "http://" + ts.Listener.Addr().String()
	e.settings.HTTPURL = e.url
	e.web, err = web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: e.url,
		AssetsDir: e.settings.AssetsDir}, e.inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = e.web.BootHandler()
	ts.Start()
	t.Cleanup(ts.Close)
	return e
}

// get fetches path and returns the status code and body.
func (e *ignitionEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(e.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
