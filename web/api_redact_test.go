package web

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"
)

func TestRedactText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"kubeconfig token", "users:\n- user:\n    token: abcdef.0123456789abcdef\n",
			"users:\n- user:\n    token: <redacted>\n"},
		{"client key", "    client-key-data: LS0tLS1CRUdJTg==\n", "    client-key-data: <redacted>\n"},
		{"certificate kept", "    client-certificate-data: LS0tLS1CRUdJTg==\n", "    client-certificate-data: LS0tLS1CRUdJTg==\n"},
		{"env", "Environment=API_TOKEN=xyz123\nEnvironment=PATH=/opt/bin\n",
			"Environment=API_TOKEN=<redacted>\nEnvironment=PATH=/opt/bin\n"},
		{"json", `{"password": "hunter2", "user": "ops"}`, `{"password": "<redacted>", "user": "ops"}`},
		{"yaml hash", `password_hash: "$6$abc$def"`, `password_hash: "<redacted>"`},
		{"block", "secret: |\n  line one\n  line two\nnext: kept\n", "secret: |\n  <redacted>\nnext: kept\n"},
		{"listed block", "- private_key: >-\n    abc\n    def\n- other: 1\n", "- private_key: >-\n    <redacted>\n- other: 1\n"},
		{"pem", "a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\nb",
			"a\n<redacted>\nb"},
		{"bare bootstrap token", "kubeadm join --discovery-token abcdef.0123456789abcdef x",
			"kubeadm join --discovery-token <redacted> x"},
		{"plain text kept", "server: https://10.99.0.2:6443\nkind: Config\n", "server: https://10.99.0.2:6443\nkind: Config\n"},
		{"escaped lines", `inline: "API_TOKEN=supersecret123\nDB_PASSWORD: hunter2\nkey=abcdef.0123456789abcdef\n"`,
			`inline: "API_TOKEN=<redacted>\nDB_PASSWORD: <redacted>\nkey=<redacted>\n"`},
		{"escaped bearer", `inline: "aws_secret_access_key=X\nBEARER ` + rbtToken + `\n"`,
			`inline: "aws_secret_access_key=<redacted>\nBEARER <redacted>\n"`},
		{"escaped tab", `"A_TOKEN=x\tB_SECRET=y"`, `"A_TOKEN=<redacted>\tB_SECRET=<redacted>"`},
		{"escaped json", `{\"password\": \"hunter2\", \"user\": \"ops\"}`,
			`{\"password\": \"<redacted>\", \"user\": \"ops\"}`},
		{"escaped backslash in a value", `password=ab\\ncd next`, `password=<redacted> next`},
		{"rackboot token alone", "curl -H 'X: " + rbtToken + "'", "curl -H 'X: <redacted>'"},
		{"url password", "source: https://ops:hunter2@cfg.example/x", "source: https://<redacted>@cfg.example/x"},
		{"short key", "DB_PASS=hunter2 API_KEY=k1", "DB_PASS=<redacted> API_KEY=<redacted>"},
		{"structure kept", "passwd: {users: [{name: ops}]}", "passwd: {users: [{name: ops}]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactText(tt.in); got != tt.want {
				t.Errorf("redactText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func gzipBase64(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func TestRedactIgnition(t *testing.T) {
	pem := "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETKEYBYTES\n-----END RSA PRIVATE KEY-----\n"
	cfg := `{"ignition": {"version": "3.3.0", "config": {"merge": [{"source": "https://ops:merge-pass@cfg.example/x.ign?token=qtok",
	  "httpHeaders": [{"name": "Authorization", "value": "Bearer hdrsecret"}]}]}},
	"passwd": {"users": [{"name": "ops", "passwordHash": "$6$pwhash", "sshAuthorizedKeys": ["ssh-ed25519 AAAA ops"]}]},
	"storage": {"files": [
	  {"path": "/etc/key.pem", "contents": {"compression": "gzip", "source": "data:;base64,` + gzipBase64(t, pem) + `"}},
	  {"path": "/etc/plain", "contents": {"source": "data:,hello%20world"}},
	  {"path": "/opt/blob", "contents": {"source": "data:;base64,` + base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0, 1}) + `"}},
	  {"path": "/opt/odd", "contents": {"compression": "xz", "source": "data:,oddsecret"}},
	  {"path": "/opt/bad", "contents": {"source": "data:,%zzbadsecret"}}
	]},
	"systemd": {"units": [{"name": "a.service", "contents": "[Service]\nEnvironment=DB_PASSWORD=unitsecret\n"}]}}`
	out, err := redactIgnition([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	shown := string(out) + decodedSources(t, out)
	for _, s := range []string{"merge-pass", "qtok", "hdrsecret", "$6$pwhash", "TOPSECRETKEYBYTES",
		"oddsecret", "badsecret", "unitsecret", "\xff\xfe"} {
		if strings.Contains(shown, s) {
			t.Errorf("redactIgnition left %q in:\n%s", s, shown)
		}
	}
	for _, s := range []string{"hello world", "ssh-ed25519 AAAA ops", "Authorization", "cfg.example/x.ign"} {
		if !strings.Contains(shown, s) {
			t.Errorf("redactIgnition dropped %q, which is no secret:\n%s", s, shown)
		}
	}
	if strings.Contains(string(out), `"compression"`) {
		t.Errorf("redacted inline contents kept a compression field:\n%s", out)
	}
	if _, err := redactIgnition([]byte("{not json")); err == nil {
		t.Error("redactIgnition(bad json) = nil error")
	}
}

// rbtToken is shaped like a rackboot API token.
const rbtToken = "rbt_Q2hhbmdlTWVJbW1lZGlhdGVseUl0SXNBVGVzdFRva2Vu"

func TestRedactButane(t *testing.T) {
	tests := []struct {
		name, in string
		hidden   []string // must not show
		want     []string // must show
	}{
		{"escaped inline", `# site files
storage:
  files:
    - path: /etc/motd
      contents:
        inline: "hello\n"
    - path: /etc/site.conf
      mode: 0644
      contents:
        inline: "API_TOKEN=supersecret123\nDB_PASSWORD: hunter2\nkey=abcdef.0123456789abcdef\n"
    - path: /etc/aws.conf
      contents:
        inline: "aws_secret_access_key=X\nBEARER ` + rbtToken + `\n"
`, []string{"supersecret123", "hunter2", "abcdef.0123456789abcdef", "rbt_", "aws_secret_access_key"},
			[]string{"# site files", "mode: 0644", `inline: "hello\n"`, "path: /etc/site.conf", "inline: <redacted>"}},
		{"sensitive path", `storage:
  files:
    - path: /etc/kubernetes/bootstrap-kubelet.conf
      contents:
        inline: |
          apiVersion: v1
          server: https://10.99.0.2:6443
    - path: /home/core/.ssh/id_ed25519
      contents:
        source: data:,opaque-key-bytes
`, []string{"apiVersion", "10.99.0.2", "opaque-key-bytes"},
			[]string{"inline: <redacted>", "source: data:,<redacted>", "path: /home/core/.ssh/id_ed25519"}},
		{"data url", `storage:
  files:
    - path: /etc/a
      contents:
        source: "data:,API_TOKEN%3Dsupersecret123"
`, []string{"supersecret123", "API_TOKEN"}, []string{"source: data:,<redacted>"}},
		{"unit", `systemd:
  units:
    - name: a.service
      contents: "[Service]\nEnvironment=A_TOKEN=supersecret123\nEnvironment=B=hunter2-no\n"
`, []string{"supersecret123", "hunter2-no"}, []string{"name: a.service", "contents: <redacted>"}},
		{"flow style", `storage: {files: [{path: /etc/a, contents: {inline: "X=1\nDB_PASSWORD: hunter2\nZ=leak-if-kept"}}]}`,
			[]string{"hunter2", "leak-if-kept"}, []string{"path: /etc/a", "inline: <redacted>"}},
		{"no secret", "storage:\n  files:\n    - path: /etc/motd\n      contents:\n        inline: hello\n",
			nil, []string{"storage:\n  files:\n    - path: /etc/motd\n      contents:\n        inline: hello\n"}},
		{"not yaml", "storage: [\n  password: hunter2", []string{"hunter2", "storage"}, []string{redacted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactButane(tt.in)
			for _, s := range tt.hidden {
				if strings.Contains(got, s) {
					t.Errorf("redactButane(%s) shows %q:\n%s", tt.name, s, got)
				}
			}
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("redactButane(%s) does not show %q:\n%s", tt.name, s, got)
				}
			}
		})
	}
}
