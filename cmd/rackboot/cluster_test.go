package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/internal/testlog"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/join"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/tracker"
)

// tokenInConfig finds the bootstrap token in a rendered config, where it
// sits percent-encoded in the bootstrap kubeconfig's data URL.
var tokenInConfig = regexp.MustCompile(`token:%20([a-z0-9]{6})\.([a-z0-9]{16})%0A`)

// TestIgnitionAgainstCluster wires Ignition as serve does, from a
// kubeconfig file for a real control plane, and fetches a worker's config
// twice: the first is served with a token that exists in the cluster, the
// second is refused.
func TestIgnitionAgainstCluster(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{})
	dir := t.TempDir()
	e := newIgnitionEnv(t, dir, ignitionInventory(t, dir, string(cp.CA)))
	e.settings.Kubeconfig = filepath.Join(dir, "kubeconfig")
	e.settings.TokenTTL = 20 * time.Minute
	writeKubeconfig(t, e.settings.Kubeconfig,
		&clientcmdapi.Cluster{Server: cp.Server, CertificateAuthorityData: cp.CA}, cp.Admin.BearerToken)
	var logs lockedBuffer
	runners, tr, err := setupCluster(&e.settings, e.web, e.inv, prometheus.NewRegistry(), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(runners) != 2 {
		t.Fatalf("setupCluster returned %d runners, want the cluster check and the tracker", len(runners))
	}
	if got, ok := runners[1].(*tracker.Tracker); !ok || got != tr {
		t.Errorf("second runner is %T, want the *tracker.Tracker returned", runners[1])
	}
	if err := runners[0].Run(t.Context()); err != nil {
		t.Fatal(err)
	}

	code, body := e.get(t, "/ignition?mac=02-00-00-00-00-01")
	if code != 200 {
		t.Fatalf("GET /ignition = %d %s, want 200", code, body)
	}
	var cfg struct {
		Ignition struct{ Version string }
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil || cfg.Ignition.Version != "3.3.0" {
		t.Errorf("config = version %q, %v; want Ignition 3.3.0 JSON", cfg.Ignition.Version, err)
	}
	tok := tokenInConfig.FindStringSubmatch(body)
	if tok == nil {
		t.Fatalf("config holds no bootstrap token:\n%s", body)
	}
	checkClusterToken(t, kubernetes.NewForConfigOrDie(cp.Admin), tok[1], tok[2], e.settings.TokenTTL)

	code, body = e.get(t, "/ignition?mac=02-00-00-00-00-01")
	if code != 403 || !strings.Contains(body, "already served in generation 1") {
		t.Errorf("second GET /ignition = %d %q, want 403 already served", code, body)
	}
	checkIgnitionTimeline(t, e.inv, "02:00:00:00:00:01")
	for _, want := range []string{"ignition and tracker on", "kubelet bootstrap rbac in place",
		"bootstrap token minted", "kube-proxy certificate issued"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log has no %q line", want)
		}
	}
	if strings.Contains(logs.String(), tok[2]) {
		t.Error("log holds the token's secret")
	}
	checkDrainer(t, clusterTracker{tr}, kubernetes.NewForConfigOrDie(cp.Admin))
}

// checkDrainer asserts that d, as the reprovisioning workflow sees it,
// reports provision.ErrNoNode for node1 before its Node exists, and
// cordons the Node once it does.
func checkDrainer(t *testing.T, d provision.Drainer, cs kubernetes.Interface) {
	t.Helper()
	if err := d.Drain(t.Context(), "node1"); !errors.Is(err, provision.ErrNoNode) {
		t.Errorf("Drain(node1) without a Node = %v, want provision.ErrNoNode", err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}
	if _, err := cs.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Drain(t.Context(), "node1"); err != nil {
		t.Fatalf("Drain(node1) = %v, want nil", err)
	}
	got, err := cs.CoreV1().Nodes().Get(t.Context(), "node1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Spec.Unschedulable {
		t.Error("node1 after Drain is schedulable, want it cordoned")
	}
}

// checkClusterToken asserts that the token id.secret is a bootstrap token
// of node1's generation 1 in the cluster, expiring after about ttl.
func checkClusterToken(t *testing.T, cs kubernetes.Interface, id, secret string, ttl time.Duration) {
	t.Helper()
	s, err := cs.CoreV1().Secrets("kube-system").Get(t.Context(), "bootstrap-token-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the served token's secret: %v", err)
	}
	got := map[string]string{"token-secret": string(s.Data["token-secret"]), "type": string(s.Type),
		"machine": s.Labels[join.LabelMachine], "generation": s.Labels[join.LabelGeneration]}
	want := map[string]string{"token-secret": secret, "type": string(corev1.SecretTypeBootstrapToken),
		"machine": "node1", "generation": "1"}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("secret bootstrap-token-%s %s = %q, want %q", id, k, got[k], want[k])
		}
	}
	exp, err := time.Parse(time.RFC3339, string(s.Data["expiration"]))
	if left := time.Until(exp); err != nil || left > ttl || left < ttl-2*time.Minute {
		t.Errorf("token expires %q (%v), want in about %v (--token-ttl)", s.Data["expiration"], err, ttl)
	}
}

// checkIgnitionTimeline asserts that mac's timeline shows the config
// served, then the second fetch refused.
func checkIgnitionTimeline(t *testing.T, inv *inventory.Inventory, mac string) {
	t.Helper()
	events, err := inv.Timeline(mac)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []inventory.EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	want := []inventory.EventKind{inventory.EventIgnitionServed, inventory.EventIgnitionRefused}
	if len(kinds) != 2 || kinds[0] != want[0] || kinds[1] != want[1] {
		t.Errorf("timeline of %s = %v, want %v", mac, kinds, want)
	}
}

// lockedBuffer collects log output; safe for concurrent use.
type lockedBuffer = testlog.Buffer
