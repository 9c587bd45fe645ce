package join

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Client: fake.NewClientset(), Server: "https://192.0.2.10:6443", CA: testCA}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" means valid
	}{
		{name: "complete", edit: func(*Config) {}},
		{name: "no client", edit: func(c *Config) { c.Client = nil }, wantErr: "client"},
		{name: "http server", wantErr: "server",
			edit: func(c *Config) { c.Server = "http://192.0.2.10:6443" }},
		{name: "bare host", wantErr: "server",
			edit: func(c *Config) { c.Server = "192.0.2.10:6443" }},
		{name: "no ca", edit: func(c *Config) { c.CA = nil }, wantErr: "ca"},
		{name: "ca not pem", edit: func(c *Config) { c.CA = []byte("not a cert") }, wantErr: "ca"},
		{name: "negative ttl", edit: func(c *Config) { c.TTL = -time.Second }, wantErr: "ttl"},
		{name: "kube-proxy ttl too short", edit: func(c *Config) { c.KubeProxyTTL = time.Minute },
			wantErr: "kube-proxy ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			_, err := New(c)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New(%s) = %v, want no error", tt.name, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr+":")):
				t.Errorf("New(%s) = %v, want an error naming %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

// TestUnreachableCluster mints against a loopback port nothing listens on.
func TestUnreachableCluster(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg, err := ConfigFromREST(&rest.Config{Host: "https://" + addr,
		TLSClientConfig: rest.TLSClientConfig{CAData: testCA}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := m.BootstrapToken(ctx, "node-7", 1)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("BootstrapToken against a closed port = %v, %v; want a wrapped ECONNREFUSED", c, err)
	}
	if err != nil && !strings.Contains(err.Error(), "machine node-7 generation 1") {
		t.Errorf("error %q does not name the machine and generation", err)
	}
	if _, err := m.KubeProxy(ctx, "node-7", 1); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("KubeProxy against a closed port = %v; want a wrapped ECONNREFUSED", err)
	}
}
