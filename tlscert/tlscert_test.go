package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testHosts = []string{"localhost", "127.0.0.1", "::1", "192.0.2.10", "Rack-01", ""}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "admin-tls")
	cert, fp, created, err := LoadOrCreate(dir, testHosts, nil)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate(new dir) = %v, created %v, want a new certificate", err, created)
	}
	if fp != Fingerprint(cert.Certificate[0]) {
		t.Errorf("fingerprint %s is not the certificate's", fp)
	}
	checkMode(t, dir, 0o700|os.ModeDir)
	checkMode(t, filepath.Join(dir, KeyFile), 0o600)
	checkMode(t, filepath.Join(dir, CertFile), 0o644)

	leaf := cert.Leaf
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if diff := cmp.Diff([]string{"127.0.0.1", "::1", "192.0.2.10"}, ips); diff != "" {
		t.Errorf("IP SANs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"localhost", "rack-01"}, leaf.DNSNames); diff != "" {
		t.Errorf("DNS SANs (-want +got):\n%s", diff)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != Validity+time.Hour {
		t.Errorf("certificate lasts %s, want %s and the hour before", got, Validity)
	}
	if leaf.IsCA || leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("certificate IsCA %v, key %s, want a non-CA ECDSA certificate", leaf.IsCA, leaf.PublicKeyAlgorithm)
	}

	again, fp2, created, err := LoadOrCreate(dir, testHosts[:3], nil)
	if err != nil || created || fp2 != fp || !again.Leaf.Equal(leaf) {
		t.Errorf("second LoadOrCreate = %v, created %v, fingerprint %s, want the same certificate %s",
			err, created, fp2, fp)
	}
}

func TestLoadOrCreateReplaces(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  bool // a new certificate
	}{
		{"kept", func(t *testing.T, dir string) { mustCreate(t, dir, time.Now()) }, false},
		{"expired", func(t *testing.T, dir string) {
			mustCreate(t, dir, time.Now().Add(-Validity-time.Minute))
		}, true},
		{"other host", func(t *testing.T, dir string) {
			if _, err := create(dir, []string{"localhost"}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"key only", func(t *testing.T, dir string) {
			mustCreate(t, dir, time.Now())
			os.Remove(filepath.Join(dir, CertFile))
		}, true},
		{"certificate only", func(t *testing.T, dir string) {
			mustCreate(t, dir, time.Now())
			os.Remove(filepath.Join(dir, KeyFile))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			before, _ := os.ReadFile(filepath.Join(dir, CertFile))
			_, _, created, err := LoadOrCreate(dir, testHosts, nil)
			if err != nil || created != tt.want {
				t.Fatalf("LoadOrCreate() = %v, created %v, want %v", err, created, tt.want)
			}
			after, _ := os.ReadFile(filepath.Join(dir, CertFile))
			if changed := string(before) != string(after); changed != tt.want {
				t.Errorf("cert.pem changed = %v, want %v", changed, tt.want)
			}
		})
	}
}

func TestLoadOrCreateRefusesBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	mustCreate(t, dir, time.Now())
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := LoadOrCreate(dir, testHosts, nil)
	if err == nil || !strings.Contains(err.Error(), "remove both files") {
		t.Errorf("LoadOrCreate(broken key) = %v, want an error saying what to do", err)
	}
}

func TestLoad(t *testing.T) {
	a, b, old := t.TempDir(), t.TempDir(), t.TempDir()
	certA := mustCreate(t, a, time.Now())
	mustCreate(t, b, time.Now())
	mustCreate(t, old, time.Now().Add(-Validity-time.Hour))
	tests := []struct {
		name, cert, key, wantErr string
	}{
		{"ok", filepath.Join(a, CertFile), filepath.Join(a, KeyFile), ""},
		{"wrong key", filepath.Join(a, CertFile), filepath.Join(b, KeyFile), "private key does not match"},
		{"no such file", filepath.Join(a, "nope.pem"), filepath.Join(a, KeyFile), "nope.pem"},
		{"key as certificate", filepath.Join(a, KeyFile), filepath.Join(a, KeyFile), "loading certificate"},
		{"expired", filepath.Join(old, CertFile), filepath.Join(old, KeyFile), "expired on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fp, err := Load(tt.cert, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Load() = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || fp != Fingerprint(certA.Certificate[0]) {
				t.Errorf("Load() = %s, %v, want %s", fp, err, Fingerprint(certA.Certificate[0]))
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	// SHA-256 of "abc", FIPS 180-2 appendix B.1.
	want := "sha256:BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:" +
		"B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
	if got := Fingerprint([]byte("abc")); got != want {
		t.Errorf("Fingerprint(abc) = %s, want %s", got, want)
	}
}

// TestHandshake serves the made certificate on 127.0.0.1 and connects
// with it as the only root, by address and by name.
func TestHandshake(t *testing.T) {
	dir := t.TempDir()
	cert, _, _, err := LoadOrCreate(dir, testHosts, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, cert)
	pem, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	for _, name := range []string{"127.0.0.1", "localhost", "rack-01"} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: name})
		if err != nil {
			t.Errorf("handshake as %s: %v", name, err)
			continue
		}
		conn.Close()
	}
	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "other.example"})
	if err == nil {
		t.Errorf("handshake for a name the certificate lacks succeeded")
	}
	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost"})
	if err == nil {
		t.Errorf("handshake without the certificate as root succeeded")
	}
}

// TestWithOpenSSLAndCurl checks the certificate with real peers: openssl
// shows the same fingerprint, and curl trusts it as its CA file.
func TestWithOpenSSLAndCurl(t *testing.T) {
	for _, tool := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian package %s)", tool, tool)
		}
	}
	dir := t.TempDir()
	cert, fp, _, err := LoadOrCreate(dir, testHosts, nil)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir, CertFile)
	out, err := exec.Command("openssl", "x509", "-in", certPath, "-noout", "-fingerprint", "-sha256").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, got, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	if "sha256:"+got != fp {
		t.Errorf("openssl fingerprint %s, Fingerprint %s", got, fp)
	}
	addr := serveTLS(t, cert)
	_, port, _ := net.SplitHostPort(addr)
	for _, url := range []string{"https://127.0.0.1:" + port + "/", "https://localhost:" + port + "/"} {
		cmd := exec.Command("curl", "-sS", "--fail", "--max-time", "10", "--cacert", certPath,
			"--resolve", "localhost:"+port+":127.0.0.1", url)
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "hello\n" {
			t.Errorf("curl %s = %v, %q, want hello", url, err, out)
		}
	}
}

// serveTLS answers "hello" over HTTPS with cert on 127.0.0.1 and returns
// the address.
func serveTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello\n")
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}

func mustCreate(t *testing.T, dir string, now time.Time) tls.Certificate {
	t.Helper()
	cert, err := create(dir, testHosts, now)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}
