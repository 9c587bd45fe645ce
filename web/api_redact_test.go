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
