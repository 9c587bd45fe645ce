package main

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/auth"
	"github.com/rackboot/rackboot/web"
)

// testTokenName names the operator token adminServer makes; timelines
// show it as the actor.
const testTokenName = "ops-test"

// adminServer serves srv's admin listener over TLS behind a real auth
// Guard with one operator token, and returns the CLI flags that reach it:
// --server, --ca-file and --token-file.
func adminServer(t *testing.T, srv *web.Server) []string {
	t.Helper()
	tok, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGuard(t, auth.Entry{Name: testTokenName, Role: auth.Operator, Hash: auth.Hash(tok)})
	admin, err := web.NewAdmin(srv, web.AdminConfig{Addr: "127.0.0.1:0", Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(admin.Handler())
	t.Cleanup(ts.Close)
	return tlsFlags(t, ts, tok)
}

func newTestGuard(t *testing.T, entries ...auth.Entry) *auth.Guard {
	t.Helper()
	ring, err := auth.NewKeyring(entries)
	if err != nil {
		t.Fatal(err)
	}
	g, err := auth.NewGuard(auth.Config{Keyring: ring})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// tlsFlags writes ts's certificate and tok into files and returns the
// flags naming them.
func tlsFlags(t *testing.T, ts *httptest.Server, tok string) []string {
	t.Helper()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})))
	tf := filepath.Join(dir, "token")
	writeFile(t, tf, tok+"\n")
	return []string{"--server", ts.URL, "--ca-file", ca, "--token-file", tf}
}

func mustToken(t *testing.T) string {
	t.Helper()
	tok, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestClientFindsToken(t *testing.T) {
	dataDir, other := t.TempDir(), t.TempDir()
	defTok, fileTok, envTok, envFileTok := mustToken(t), mustToken(t), mustToken(t), mustToken(t)
	writeFile(t, filepath.Join(dataDir, "admin.token"), defTok+"\n")
	writeFile(t, filepath.Join(other, "mine"), "  "+fileTok+"\n\n")
	writeFile(t, filepath.Join(other, "env"), envFileTok)
	writeFile(t, filepath.Join(other, "junk"), "hunter2\n")
	mine, envFile := filepath.Join(other, "mine"), filepath.Join(other, "env")
	tests := []struct {
		name    string
		flags   []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"default file", nil, nil, defTok, ""},
		{"token file", []string{"--token-file", mine}, nil, fileTok, ""},
		{"env token beats default", nil, map[string]string{"RACKBOOT_TOKEN": envTok}, envTok, ""},
		{"env token beats env file", nil, map[string]string{"RACKBOOT_TOKEN": envTok,
			"RACKBOOT_TOKEN_FILE": envFile}, envTok, ""},
		{"command line beats env token", []string{"--token-file", mine},
			map[string]string{"RACKBOOT_TOKEN": envTok, "RACKBOOT_TOKEN_FILE": envFile}, fileTok, ""},
		{"env file", nil, map[string]string{"RACKBOOT_TOKEN_FILE": envFile}, envFileTok, ""},
		{"nothing", []string{"--data-dir", other}, nil, "", "rackboot token create"},
		{"missing file", []string{"--token-file", filepath.Join(other, "nope")}, nil, "", "nope: no such file"},
		{"junk file", []string{"--token-file", filepath.Join(other, "junk")}, nil, "",
			"does not hold a rackboot token"},
		{"junk env", nil, map[string]string{"RACKBOOT_TOKEN": "hunter2"}, "", "RACKBOOT_TOKEN does not hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseClient(t, append([]string{"--data-dir", dataDir}, tt.flags...), tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("client() = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("client() error %q carries the bad token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("client() = %v", err)
			}
			if c.token != tt.want {
				t.Errorf("client() took a token from the wrong place")
			}
		})
	}
}

// parseClient parses the client flags from args and env and builds the
// client.
func parseClient(t *testing.T, args []string, env map[string]string) (*apiClient, error) {
	t.Helper()
	fs, cs := apiFlags("test", "", &strings.Builder{})
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := applyDefaults(fs, mapEnv(env)); err != nil {
		t.Fatal(err)
	}
	return cs.client(mapEnv(env))
}

func TestClientServerURL(t *testing.T) {
	tok := mustToken(t)
	tests := []struct {
		server, want, wantErr string
	}{
		{"https://rack.example:8443/", "https://rack.example:8443", ""},
		{"http://127.0.0.1:8443", "http://127.0.0.1:8443", ""},
		{"http://[::1]:8443", "http://[::1]:8443", ""},
		{"http://localhost:8443", "http://localhost:8443", ""},
		{"http://192.0.2.10:8443", "", "refusing to send a token over plain http"},
		{"ftp://192.0.2.10", "", "not an https URL"},
		{"192.0.2.10:8443", "", "is not a URL"},
		{"rack.example:8443", "", "is not a URL"},
		{"", "", "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.server, func(t *testing.T) {
			c, err := parseClient(t, []string{"--server", tt.server}, map[string]string{"RACKBOOT_TOKEN": tok})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("client(--server %q) = %v, want %q", tt.server, err, tt.wantErr)
				}
				return
			}
			if err != nil || c.base != tt.want {
				t.Errorf("client(--server %q) = %v, base %q, want %q", tt.server, err, c.base, tt.want)
			}
		})
	}
}

// TestClientAgainstGuard calls a Guard-protected TLS server with the
// client, as every CLI command does.
func TestClientAgainstGuard(t *testing.T) {
	opTok, viewTok, unknown := mustToken(t), mustToken(t), mustToken(t)
	g := newTestGuard(t,
		auth.Entry{Name: "alice", Role: auth.Operator, Hash: auth.Hash(opTok)},
		auth.Entry{Name: "bob", Role: auth.Viewer, Hash: auth.Hash(viewTok)})
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/who", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"name": "` + g.Who(r) + `"}`))
	})
	ts := httptest.NewUnstartedServer(g.Require(mux))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case's handshake
	ts.StartTLS()
	t.Cleanup(ts.Close)
	dataDir := t.TempDir()
	certDir := filepath.Join(dataDir, "admin-tls")
	flags := tlsFlags(t, ts, opTok)
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(flags[3])
	writeFile(t, filepath.Join(certDir, "cert.pem"), string(ca))

	tests := []struct {
		name    string
		args    []string
		tok     string
		method  string
		want    string
		wantErr string
	}{
		{"operator posts", flags, "", "POST", "alice", ""},
		{"viewer reads", flags[:4], viewTok, "GET", "bob", ""},
		{"viewer posts", flags[:4], viewTok, "POST", "", "the viewer role may only read (forbidden)"},
		{"unknown token", flags[:4], unknown, "GET", "", "unknown or malformed token (unauthorized)"},
		{"ca from the data dir", []string{"--server", ts.URL, "--data-dir", dataDir}, viewTok, "GET", "bob", ""},
		{"untrusted", []string{"--server", ts.URL, "--data-dir", t.TempDir()}, viewTok, "GET", "",
			"pass --ca-file with the server's certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"RACKBOOT_TOKEN": tt.tok}
			c, err := parseClient(t, tt.args, env)
			if err != nil {
				t.Fatal(err)
			}
			var got struct{ Name string }
			err = c.call(context.Background(), tt.method, "/api/v1/who", map[string]int{}, &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("call() = %v, want %q", err, tt.wantErr)
				}
				for _, tok := range []string{opTok, viewTok, unknown} {
					if strings.Contains(err.Error(), tok) {
						t.Errorf("call() error carries a token: %v", err)
					}
				}
				return
			}
			if err != nil || got.Name != tt.want {
				t.Errorf("call() = %v, %q, want %q", err, got.Name, tt.want)
			}
		})
	}
}

func TestAnswerError(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"rackboot json", `{"error": "no such machine", "code": "not_found"}`,
			"GET https://x/api: no such machine (not_found)"},
		{"json without code", `{"error": "no such machine"}`, "GET https://x/api: no such machine"},
		{"text", "bad gateway\n", "GET https://x/api: 502 Bad Gateway: bad gateway"},
		{"long text", strings.Repeat("x", 300), "GET https://x/api: 502 Bad Gateway: " +
			strings.Repeat("x", 200) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := answerError("GET", "https://x/api", "502 Bad Gateway", []byte(tt.body)).Error()
			if got != tt.want {
				t.Errorf("answerError() = %q, want %q", got, tt.want)
			}
		})
	}
}
