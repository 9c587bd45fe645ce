package join

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

// testCA is a self-signed certificate; the Minter only checks that CA
// holds one.
var testCA = func() []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}()

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// fixture is a Minter over a fake clientset, logging into a buffer.
type fixture struct {
	m     *Minter
	cs    kubernetes.Interface
	clock *clock
	log   *bytes.Buffer
}

func newFixture(t *testing.T, objs ...any) *fixture {
	t.Helper()
	f := &fixture{
		cs:    fake.NewClientset(),
		clock: &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		log:   new(bytes.Buffer),
	}
	logger := slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := New(Config{Client: f.cs, Server: "https://192.0.2.10:6443", CA: testCA,
		Logger: logger, Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	return f
}

// mint calls BootstrapToken and fails the test on error.
func (f *fixture) mint(t *testing.T, machine string, gen uint64) Credentials {
	t.Helper()
	c, err := f.m.BootstrapToken(context.Background(), machine, gen)
	if err != nil {
		t.Fatalf("BootstrapToken(%s, %d) = %v", machine, gen, err)
	}
	return c
}

// assertNoSecret fails t when the log holds the secret half of any token.
func (f *fixture) assertNoSecret(t *testing.T, creds ...Credentials) {
	t.Helper()
	for _, c := range creds {
		_, secret, _ := strings.Cut(c.Token, ".")
		if secret == "" || strings.Contains(f.log.String(), secret) {
			t.Errorf("log holds the secret of token %s (or it is empty):\n%s", c.TokenID(), f.log)
		}
	}
}

func TestBootstrapTokenSecret(t *testing.T) {
	f := newFixture(t)
	c := f.mint(t, "node-7", 3)

	s, err := f.cs.CoreV1().Secrets("kube-system").Get(context.Background(),
		"bootstrap-token-"+c.TokenID(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, secret, _ := strings.Cut(c.Token, ".")
	want := map[string]string{
		"token-id":                       id,
		"token-secret":                   secret,
		"expiration":                     "2026-12-01T11:00:00Z",
		"usage-bootstrap-authentication": "true",
		"usage-bootstrap-signing":        "true",
		"auth-extra-groups":              "system:bootstrappers:rackboot",
		"description":                    "rackboot: kubelet TLS bootstrap for machine node-7, generation 3",
	}
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secret data (-want +got):\n%s", diff)
	}
	if s.Type != corev1.SecretTypeBootstrapToken {
		t.Errorf("secret type = %q, want %q", s.Type, corev1.SecretTypeBootstrapToken)
	}
	wantLabels := map[string]string{LabelMachine: "node-7", LabelGeneration: "3",
		"app.kubernetes.io/managed-by": "rackboot"}
	if diff := cmp.Diff(wantLabels, s.Labels); diff != "" {
		t.Errorf("secret labels (-want +got):\n%s", diff)
	}
	wantCreds := Credentials{Server: "https://192.0.2.10:6443", CA: testCA,
		Token: c.Token, Expires: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)}
	if diff := cmp.Diff(wantCreds, c); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	f.assertNoSecret(t, c)
}

func TestBootstrapTokenFormat(t *testing.T) {
	f := newFixture(t)
	for i := range 20 {
		c := f.mint(t, "node-1", uint64(i+1))
		id, secret, _ := strings.Cut(c.Token, ".")
		if len(id) != 6 || len(secret) != 16 || strings.Trim(c.Token, tokenAlphabet+".") != "" {
			t.Fatalf("token %d = %s.<%d chars>, want [a-z0-9]{6}.[a-z0-9]{16}", i, id, len(secret))
		}
	}
}

func TestBootstrapTokenReuse(t *testing.T) {
	tests := []struct {
		name    string
		machine string
		gen     uint64
		after   time.Duration // clock advance before the second call
		same    bool
	}{
		{name: "same generation", machine: "node-7", gen: 1, same: true},
		{name: "same generation 29m later", machine: "node-7", gen: 1, after: 29 * time.Minute, same: true},
		{name: "less than half the ttl left", machine: "node-7", gen: 1, after: 31 * time.Minute},
		{name: "expired", machine: "node-7", gen: 1, after: 2 * time.Hour},
		{name: "next generation", machine: "node-7", gen: 2},
		{name: "other machine", machine: "node-8", gen: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			first := f.mint(t, "node-7", 1)
			f.clock.t = f.clock.t.Add(tt.after)
			second := f.mint(t, tt.machine, tt.gen)
			if got := first.Token == second.Token; got != tt.same {
				t.Errorf("second token %s equals first %s = %v, want %v",
					second.TokenID(), first.TokenID(), got, tt.same)
			}
			f.assertNoSecret(t, first, second)
		})
	}
}

func TestBootstrapTokenRevokesEarlierGenerations(t *testing.T) {
	f := newFixture(t)
	g1 := f.mint(t, "node-7", 1)
	other := f.mint(t, "node-8", 1)
	g2 := f.mint(t, "node-7", 2)
	back := f.mint(t, "node-7", 1) // a stale caller must not revoke generation 2

	want := []string{"bootstrap-token-" + other.TokenID(), "bootstrap-token-" + g2.TokenID(),
		"bootstrap-token-" + back.TokenID()}
	if got := secretNames(t, f.cs); !cmp.Equal(sorted(want), got) {
		t.Errorf("secrets after generation 2 = %v, want %v (generation 1 was %s)",
			got, sorted(want), g1.TokenID())
	}
	if err := f.m.Revoke(context.Background(), "node-7"); err != nil {
		t.Fatal(err)
	}
	want = []string{"bootstrap-token-" + other.TokenID()}
	if got := secretNames(t, f.cs); !cmp.Equal(want, got) {
		t.Errorf("secrets after Revoke(node-7) = %v, want %v", got, want)
	}
	f.assertNoSecret(t, g1, other, g2, back)
}

func TestBootstrapTokenBadInput(t *testing.T) {
	tests := []struct {
		name    string
		machine string
		gen     uint64
	}{
		{name: "empty name", machine: "", gen: 1},
		{name: "name with slash", machine: "a/b", gen: 1},
		{name: "name too long", machine: strings.Repeat("a", 64), gen: 1},
		{name: "generation 0", machine: "node-7", gen: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c, err := f.m.BootstrapToken(context.Background(), tt.machine, tt.gen)
			if err == nil {
				t.Errorf("BootstrapToken(%q, %d) = %v, want an error", tt.machine, tt.gen, c)
			}
			if names := secretNames(t, f.cs); len(names) != 0 {
				t.Errorf("secrets after refusal = %v, want none", names)
			}
		})
	}
}

func TestEnsureRBAC(t *testing.T) {
	f := newFixture(t)
	f.mint(t, "node-7", 1)
	f.mint(t, "node-8", 1)

	list, err := f.cs.RbacV1().ClusterRoleBindings().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range list.Items {
		got[b.Name] = b.RoleRef.Name + " -> " + b.Subjects[0].Kind + " " + b.Subjects[0].Name
	}
	const rackboot, nodes = " -> Group system:bootstrappers:rackboot", " -> Group system:nodes"
	want := map[string]string{
		"rackboot:kubelet-bootstrap":                     "system:node-bootstrapper" + rackboot,
		"rackboot:node-autoapprove-bootstrap":            roleNodeClient + rackboot,
		"rackboot:node-autoapprove-certificate-rotation": roleSelfNodeClient + nodes,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cluster role bindings (-want +got):\n%s", diff)
	}
	if n := strings.Count(f.log.String(), "kubelet bootstrap rbac in place"); n != 1 {
		t.Errorf("rbac log lines = %d, want 1:\n%s", n, f.log)
	}
}

func TestEnsureRBACKeepsForeignBinding(t *testing.T) {
	tests := []struct {
		name    string
		binding rbacv1.ClusterRoleBinding
		wantErr bool
	}{
		{name: "same", binding: binding("rackboot:kubelet-bootstrap", roleNodeBootstrapper, Group)},
		{name: "extra subject", binding: withSubject(binding("rackboot:kubelet-bootstrap",
			roleNodeBootstrapper, Group), "system:bootstrappers:other")},
		{name: "other role", wantErr: true,
			binding: binding("rackboot:kubelet-bootstrap", "cluster-admin", Group)},
		{name: "other group", wantErr: true,
			binding: binding("rackboot:kubelet-bootstrap", roleNodeBootstrapper, "system:authenticated")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			crbs := f.cs.RbacV1().ClusterRoleBindings()
			if _, err := crbs.Create(ctx, &tt.binding, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			err := f.m.EnsureRBAC(ctx)
			if (err != nil) != tt.wantErr {
				t.Errorf("EnsureRBAC with %s binding = %v, want error %v", tt.name, err, tt.wantErr)
			}
			got, _ := crbs.Get(ctx, tt.binding.Name, metav1.GetOptions{})
			if diff := cmp.Diff(tt.binding.RoleRef, got.RoleRef); diff != "" {
				t.Errorf("EnsureRBAC changed the existing binding (-want +got):\n%s", diff)
			}
		})
	}
}

func withSubject(b rbacv1.ClusterRoleBinding, group string) rbacv1.ClusterRoleBinding {
	b.Subjects = append([]rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind,
		Name: group}}, b.Subjects...)
	return b
}

func secretNames(t *testing.T, cs kubernetes.Interface) []string {
	t.Helper()
	list, err := cs.CoreV1().Secrets("kube-system").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	return sorted(names)
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	slices.Sort(s)
	return s
}
