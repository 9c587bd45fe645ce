package join

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
)

func TestCredentialsRedacted(t *testing.T) {
	const secret = "0123456789abcdef"
	c := Credentials{Server: "https://192.0.2.10:6443", CA: testCA, Token: "abcdef." + secret,
		Key:     []byte("-----BEGIN EC PRIVATE KEY-----\nsecretkey\n"),
		Expires: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("minted", "creds", c)
	outputs := map[string]string{
		"%v":     fmt.Sprintf("%v", c),
		"%+v":    fmt.Sprintf("%+v", c),
		"%#v":    fmt.Sprintf("%#v", c),
		"String": c.String(),
		"slog":   buf.String(),
	}
	for verb, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, "secretkey") {
			t.Errorf("%s of credentials = %q, holds a secret", verb, out)
		}
		if !strings.Contains(out, "abcdef") {
			t.Errorf("%s of credentials = %q, want the token id abcdef in it", verb, out)
		}
	}
}

func TestCredentialsKubeconfig(t *testing.T) {
	tests := []struct {
		name  string
		creds Credentials
	}{
		{name: "token", creds: Credentials{Server: "https://192.0.2.10:6443", CA: testCA,
			Token: "abcdef.0123456789abcdef"}},
		{name: "certificate", creds: Credentials{Server: "https://[2001:db8::1]:6443", CA: testCA,
			Cert: []byte("cert"), Key: []byte("key")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.creds.Kubeconfig("kubelet")
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := clientcmd.Load(b)
			if err != nil {
				t.Fatalf("loading rendered kubeconfig: %v\n%s", err, b)
			}
			rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			got := Credentials{Server: rc.Host, CA: rc.CAData, Token: rc.BearerToken,
				Cert: rc.CertData, Key: rc.KeyData}
			if diff := cmp.Diff(tt.creds, got); diff != "" {
				t.Errorf("kubeconfig round trip (-want +got):\n%s", diff)
			}
		})
	}
}
