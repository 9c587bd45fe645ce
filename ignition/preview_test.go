package ignition

import (
	"context"
	"strings"
	"testing"

	v33 "github.com/coreos/ignition/v2/config/v3_3"
)

// A preview renders the same config as a boot would, with placeholders
// where the credentials go, and never asks for real ones.
func TestPreviewMintsNothing(t *testing.T) {
	p := profile("flatcar-worker", flatcarSettings())
	pr, err := NewPreview(Config{BaseURL: baseURL, Credentials: failingCreds{t}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := pr.Render(context.Background(), node1, p, 1)
	if err != nil {
		t.Fatalf("preview Render = %v", err)
	}
	if _, rpt, err := v33.Parse(got); err != nil || rpt.IsFatal() {
		t.Fatalf("preview config does not parse: %v %v", err, rpt)
	}
	if strings.Contains(string(got), testToken.Secret) {
		t.Error("preview carries the real token's secret")
	}
	if !strings.Contains(string(got), placeholderToken.ID+"."+placeholderToken.Secret) {
		t.Error("preview lacks the placeholder token")
	}
}

// failingCreds fail the test when asked: a preview must not mint.
type failingCreds struct{ t *testing.T }

func (f failingCreds) BootstrapToken(context.Context, string, uint64) (Token, error) {
	f.t.Error("preview asked for a bootstrap token")
	return Token{}, nil
}

func (f failingCreds) KubeProxyCertificate(context.Context, string, uint64) (ClientCertificate, error) {
	f.t.Error("preview asked for a kube-proxy certificate")
	return ClientCertificate{}, nil
}
