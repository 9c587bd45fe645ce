package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/ignition"
	"github.com/rackboot/rackboot/inventory"
)

// The bootstrap token and password hash of the explain tests: none may
// show in an answer.
const (
	explainTokenSecret = "0123456789abcdef"
	explainPassword    = "$6$rounds=4096$saltsalt$hashOfTheOpsPassword"
	explainSiteToken   = "supersecretsitevalue"
)

// secretCatalog has a worker profile whose Butane snippet adds a user
// with a password and a file with a token.
var secretCatalog = strings.Replace(ignitionCatalog, "  - name: tiny\n", `      butane: |
        passwd:
          users:
            - name: ops
              password_hash: "`+explainPassword+`"
        storage:
          files:
            - path: /etc/site.env
              contents:
                inline: "SITE_TOKEN=`+explainSiteToken+`\n"
            - path: /etc/site.conf
              contents:
                inline: "API_TOKEN=supersecret123\nDB_PASSWORD: hunter2\nkey=abcdef.0123456789abcdef\n"
            - path: /etc/aws.conf
              contents:
                inline: "aws_secret_access_key=X\nBEARER `+rbtToken+`\n"
  - name: tiny
`, 1)

// explainCreds hands out a fixed bootstrap token and the test kube-proxy
// certificate.
type explainCreds struct{ t *testing.T }

func (c explainCreds) BootstrapToken(context.Context, string, uint64) (ignition.Token, error) {
	return ignition.Token{ID: "abcdef", Secret: explainTokenSecret}, nil
}

func (c explainCreds) KubeProxyCertificate(context.Context, string, uint64) (ignition.ClientCertificate, error) {
	return ignition.ClientCertificate{
		CertPEM: readFile(c.t, "../testdata/ignition/kube-proxy.crt"),
		KeyPEM:  readFile(c.t, "../testdata/ignition/kube-proxy.key"),
	}, nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func explain(t *testing.T, e *env, target string) Explanation {
	t.Helper()
	w := e.get(t, target)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", target, w.Code, w.Body)
	}
	return decode[Explanation](t, w.Body.Bytes())
}

// hasIgnition reports whether the answer's ignition is not null.
func (x Explanation) hasIgnition() bool {
	return len(x.Ignition) > 0 && string(x.Ignition) != "null"
}

func hasNote(x Explanation, part string) bool {
	for _, n := range x.Notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

func TestExplainScript(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, target, ipxe string
		arch               inventory.Arch
		note               string
	}{
		{"by mac, nothing known", "/api/v1/machines/" + mac1 + "/explain", "/ipxe?mac=" + mac1,
			inventory.ArchBIOS, "no arch declared or seen"},
		{"arch asked", "/api/v1/machines/node1/explain?arch=x64-efi", "/ipxe?mac=" + mac1 + "&platform=efi",
			inventory.ArchX64EFI, "as asked"},
		{"declared arch", "/api/v1/machines/node2/explain", "/ipxe?mac=" + mac2 + "&platform=efi",
			inventory.ArchX64EFI, "declared arch"},
		{"second nic", "/api/v1/machines/" + mac3 + "/explain", "/ipxe?mac=" + mac3 + "&platform=efi",
			inventory.ArchX64EFI, "declared arch"},
		{"unknown mac", "/api/v1/machines/" + macNew + "/explain", "/ipxe?mac=" + macNew,
			"", "no machine declares"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := explain(t, e, tt.target)
			served := e.get(t, tt.ipxe).Body.String()
			if x.Script == "" || x.Script != served {
				t.Errorf("explain script =\n%s\nwant what /ipxe serves:\n%s", x.Script, served)
			}
			if x.Arch != tt.arch || !hasNote(x, tt.note) {
				t.Errorf("explain = arch %q, notes %q; want %q and a note %q", x.Arch, x.Notes, tt.arch, tt.note)
			}
		})
	}
	if x := explain(t, e, "/api/v1/machines/node1/explain"); x.Script != golden(t, "boot-bios.ipxe") ||
		x.hasIgnition() || !hasNote(x, "profile tiny has no ignition settings") {
		t.Errorf("explain node1 = script %q, ignition %s, notes %q; want the golden BIOS script, no ignition",
			x.Script, x.Ignition, x.Notes)
	}
}

func TestExplainStates(t *testing.T) {
	e := newEnv(t)
	e.get(t, "/ipxe?mac="+mac1)
	e.do(t, request{method: http.MethodPost, target: "/api/v1/machines/" + mac1 + "/callback"})
	x := explain(t, e, "/api/v1/machines/node1/explain")
	if x.Script != golden(t, "local-bios.ipxe") || !hasNote(x, "installed in generation 1") {
		t.Errorf("explain an installed machine = %q, notes %q; want the local boot script", x.Script, x.Notes)
	}

	x = explain(t, e, "/api/v1/machines/node4/explain")
	if x.Script != "" || !hasNote(x, "rendering the script fails") {
		t.Errorf("explain node4 = %q, notes %q; want no script and why", x.Script, x.Notes)
	}

	if err := e.inv.Reject(macNew); err != nil {
		t.Fatal(err)
	}
	x = explain(t, e, "/api/v1/machines/"+macNew+"/explain")
	if x.Machine != nil || x.Profile != nil || !hasNote(x, "the MAC is rejected") {
		t.Errorf("explain a rejected, unseen MAC = machine %v, profile %v, notes %q", x.Machine, x.Profile, x.Notes)
	}
	for _, target := range []string{"/api/v1/machines/Junk_1/explain", "/api/v1/machines/node1/explain?arch=sparc",
		"/api/v1/machines/node1/explain?platform=efi", "/api/v1/machines/node1/explain?arch=bios&arch=x64-efi"} {
		wantCode(t, "GET "+target, e.get(t, target), http.StatusBadRequest, CodeBadRequest)
	}
	wantCode(t, "GET explain of a name nothing declares", e.get(t, "/api/v1/machines/junk/explain"),
		http.StatusNotFound, CodeNotFound)
}

func TestExplainIgnitionRedacted(t *testing.T) {
	r, err := ignition.New(ignition.Config{BaseURL: "http://192.0.2.10:8080", Credentials: explainCreds{t}})
	if err != nil {
		t.Fatal(err)
	}
	e := newSecretEnv(t, r)
	w := e.get(t, "/api/v1/machines/node1/explain")
	if w.Code != http.StatusOK {
		t.Fatalf("GET explain = %d %s", w.Code, w.Body)
	}
	x := decode[Explanation](t, w.Body.Bytes())
	if !x.hasIgnition() {
		t.Fatalf("explain has no ignition; notes %q", x.Notes)
	}
	// The real config, for comparison, holds every secret.
	real, err := r.Render(t.Context(), mustNamed(t, e, "node1"), x.profile(t, e), 1)
	if err != nil {
		t.Fatal(err)
	}
	key := readFile(t, "../testdata/ignition/kube-proxy.key")
	secrets := []string{explainTokenSecret, explainPassword, explainSiteToken,
		base64.StdEncoding.EncodeToString(key)[:40], "supersecret123", "hunter2", rbtToken}
	texts := decodedSources(t, real)
	for _, s := range secrets {
		if !strings.Contains(texts, s) && !strings.Contains(string(real), s) {
			t.Fatalf("the rendered config does not hold %q: the test proves nothing", s)
		}
	}
	shown := w.Body.String() + decodedSources(t, x.Ignition)
	for _, s := range secrets {
		if strings.Contains(shown, s) {
			t.Errorf("explain shows the secret %q", s)
		}
	}
	if !strings.Contains(shown, "token: "+redacted) || !strings.Contains(shown, "client-key-data: "+redacted) {
		t.Errorf("explain does not mark the kubeconfigs' secrets as redacted:\n%s", shown)
	}
	if !strings.Contains(decodedSources(t, x.Ignition), "server: https://10.99.0.2:6443") {
		t.Error("redaction dropped what is not secret (the API server URL)")
	}
	if logs := e.logs.String(); strings.Contains(logs, explainTokenSecret) {
		t.Errorf("the log holds the bootstrap token:\n%s", logs)
	}
	for _, target := range []string{"/api/v1/profiles/worker", "/api/v1/profiles"} {
		body := e.get(t, target).Body.String()
		if !strings.Contains(body, "/etc/site.conf") {
			t.Fatalf("GET %s shows no butane: %s", target, body)
		}
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("GET %s shows the butane secret %q", target, s)
			}
		}
	}
}

func TestExplainIgnitionNotConfigured(t *testing.T) {
	e := newSecretEnv(t, nil)
	x := explain(t, e, "/api/v1/machines/node1/explain")
	if x.hasIgnition() || !hasNote(x, "no Ignition is configured") {
		t.Errorf("explain without ignition = %s, notes %q", x.Ignition, x.Notes)
	}
	e = newSecretEnv(t, &fakeRenderer{err: ignition.ErrNoCluster})
	x = explain(t, e, "/api/v1/machines/node1/explain")
	if x.hasIgnition() || !hasNote(x, "rendering Ignition fails, so /ignition answers 500: no cluster configured") {
		t.Errorf("explain with a failing renderer = %s, notes %q", x.Ignition, x.Notes)
	}
}

// newSecretEnv is newIgnitionEnv over secretCatalog.
func newSecretEnv(t *testing.T, r IgnitionRenderer) *env {
	t.Helper()
	cat, err := inventory.ParseCatalog([]byte(secretCatalog))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{inv: inventory.New(cat, store), assets: t.TempDir(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv, err = NewServer(Config{Addr: "127.0.0.1:0", PublicURL: "http://192.0.2.10:8080",
		AssetsDir: e.assets}, e.inv, log)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		e.srv.SetIgnition(r, e.inv)
		e.srv.SetIgnitionPreview(r)
	}
	return e
}

func mustNamed(t *testing.T, e *env, name string) inventory.Machine {
	t.Helper()
	m, ok := e.inv.Catalog().Named(name)
	if !ok {
		t.Fatalf("no machine %s", name)
	}
	return m
}

// profile returns the catalog's profile of the explained machine: the
// explanation's own is redacted.
func (x Explanation) profile(t *testing.T, e *env) inventory.Profile {
	p, ok := e.inv.Catalog().Profile(x.Profile.Name)
	if !ok {
		t.Fatalf("no profile %s", x.Profile.Name)
	}
	return p
}

// decodedSources returns the decoded contents of every data URL in an
// Ignition config, gzip included, one after the other.
func decodedSources(t *testing.T, cfg []byte) string {
	t.Helper()
	var doc any
	if err := json.Unmarshal(cfg, &doc); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if src, ok := x["source"].(string); ok && strings.HasPrefix(src, "data:") {
				comp, _ := x["compression"].(string)
				data, err := decodeDataURL(src, comp)
				if err != nil {
					t.Errorf("decoding %.40s: %v", src, err)
				}
				b.Write(data)
				b.WriteByte('\n')
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	return b.String()
}
