package lab

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/join"
)

// labTokenTTL is the --token-ttl the lab gives rackboot with a cluster.
const labTokenTTL = 30 * time.Minute

// biosIgnitionGuest boots the tiny OS as an Ignition worker: the tiny OS
// fetches its config from ignition.config.url and reports what it found.
var biosIgnitionGuest = guest{
	name: "bios-ignition", mac: "52:54:00:21:30:05", fw: biosIPXE,
	want: []inventory.EventKind{
		inventory.EventDHCPOffer, inventory.EventDHCPAck, inventory.EventScriptServed,
		inventory.EventKernelFetched, inventory.EventInitrdFetched,
		inventory.EventIgnitionServed, inventory.EventOSCallback,
	},
}

// checkIgnitionGuest boots the Ignition guest and checks what it received
// against what rackboot recorded and minted in the cluster, then that a
// second fetch of its config is refused.
func checkIgnitionGuest(t *testing.T, n *netns, s *server, c *labCluster, tap string) {
	events := checkBoot(t, n, s, biosIgnitionGuest, tap)
	served, callback := lastOf(events, inventory.EventIgnitionServed), lastOf(events, inventory.EventOSCallback)
	if served == nil || callback == nil {
		t.Fatal("no ignition-served or os-callback event to check")
	}
	if served.IP != callback.IP {
		t.Errorf("config served to %s, but the OS called back from %s", served.IP, callback.IP)
	}
	t.Logf("%s: the tiny OS reports %q", biosIgnitionGuest.mac, callback.Detail)
	report := guestReport(t, callback.Detail)
	want := map[string]string{"version": "3.3.0", "host": biosIgnitionGuest.name,
		"verified": "2/2", "bytes": servedBytes(t, s, biosIgnitionGuest.mac)}
	for k, v := range want {
		if report[k] != v {
			t.Errorf("guest reports %s=%q, want %q (callback %q)", k, report[k], v, callback.Detail)
		}
	}
	checkToken(t, c, biosIgnitionGuest.name, report["token"])
	checkKubeProxyCSR(t, c, biosIgnitionGuest.name)
	checkRefetch(t, n, s, served)
}

// guestReport parses the tiny OS's callback detail, "ignition ok k=v ...".
func guestReport(t *testing.T, detail string) map[string]string {
	t.Helper()
	rest, ok := strings.CutPrefix(detail, "ignition ok ")
	if !ok {
		t.Fatalf("the tiny OS reports %q, want \"ignition ok ...\"", detail)
	}
	report := map[string]string{}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		report[k] = v
	}
	return report
}

// servedBytes reads the size of the config rackboot served mac from its
// log.
func servedBytes(t *testing.T, s *server, mac string) string {
	t.Helper()
	b, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`msg="ignition served" .*mac=` + mac + ` .*bytes=([0-9]+)`)
	m := re.FindSubmatch(b)
	if m == nil {
		t.Fatalf("rackboot's log has no ignition served line for %s", mac)
	}
	return string(m[1])
}

// checkToken asserts that the token the guest received is machine's
// generation-1 bootstrap token in the cluster, expiring after the lab's
// --token-ttl.
func checkToken(t *testing.T, c *labCluster, machine, id string) {
	t.Helper()
	list, err := c.admin.CoreV1().Secrets("kube-system").List(t.Context(),
		metav1.ListOptions{LabelSelector: join.LabelMachine + "=" + machine})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("cluster holds %d token secrets of %s, want 1", len(list.Items), machine)
	}
	s := list.Items[0]
	got := []string{s.Name, string(s.Type), s.Labels[join.LabelGeneration], string(s.Data["auth-extra-groups"])}
	want := []string{"bootstrap-token-" + id, string(corev1.SecretTypeBootstrapToken), "1", join.Group}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("token secret of %s = %q, want %q (token id from the guest)", machine, got, want)
	}
	exp, err := time.Parse(time.RFC3339, string(s.Data["expiration"]))
	if left := time.Until(exp); err != nil || left > labTokenTTL || left < labTokenTTL-5*time.Minute {
		t.Errorf("token of %s expires %q (%v), want in about %v", machine, s.Data["expiration"], err, labTokenTTL)
	}
}

// checkKubeProxyCSR asserts that rackboot had one kube-proxy certificate
// issued for machine.
func checkKubeProxyCSR(t *testing.T, c *labCluster, machine string) {
	t.Helper()
	list, err := c.admin.CertificatesV1().CertificateSigningRequests().List(t.Context(),
		metav1.ListOptions{LabelSelector: join.LabelMachine + "=" + machine})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("cluster holds %d kube-proxy CSRs of %s, want 1", len(list.Items), machine)
	}
	csr := list.Items[0]
	if csr.Spec.SignerName != certv1.KubeAPIServerClientSignerName || len(csr.Status.Certificate) == 0 {
		t.Errorf("CSR %s: signer %s, %d bytes of certificate; want one issued by %s",
			csr.Name, csr.Spec.SignerName, len(csr.Status.Certificate), certv1.KubeAPIServerClientSignerName)
	}
}

// checkRefetch fetches the config again, once from the lab server's own
// address and once from the address the machine fetched it from (a new
// host on the lab network: the guest is off), and expects 403 and an
// ignition-refused event each time.
func checkRefetch(t *testing.T, n *netns, s *server, served *inventory.Event) {
	t.Helper()
	path := "/ignition?mac=" + strings.ReplaceAll(biosIgnitionGuest.mac, ":", "-")
	if _, uuid, ok := strings.Cut(served.Detail, "uuid="); ok {
		path += "&uuid=" + uuid
	}
	host := newNetns(t)
	n.addHost(t, host, "refetch0", served.IP.String()+"/24")
	tests := []struct {
		name   string
		client *http.Client
		want   string
	}{
		{"from the lab server", s.client, "leased address is " + served.IP.String()},
		{"from the machine's address", host.httpClient(), "already served in generation 1"},
	}
	for _, tt := range tests {
		code, body := fetch(t, tt.client, s.url+path)
		t.Logf("GET %s %s: %d %s", path, tt.name, code, strings.TrimSpace(body))
		if code != http.StatusForbidden || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s %s = %d %q, want 403 %q", path, tt.name, code, body, tt.want)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	events, err := s.timeline(ctx, biosIgnitionGuest.mac)
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.EventKind{inventory.EventIgnitionServed, inventory.EventOSCallback,
		inventory.EventIgnitionRefused, inventory.EventIgnitionRefused}
	if diff := stagesDiff(events, want); diff != "" {
		t.Errorf("timeline after the refetches: %s", diff)
	}
}

// fetch GETs url with client and returns the status and body.
func fetch(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// lastOf returns the last event of kind k, or nil.
func lastOf(events []inventory.Event, k inventory.EventKind) *inventory.Event {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == k {
			return &events[i]
		}
	}
	return nil
}

// importIgnitionAssets brings the Ignition profiles' artifacts of
// testdata/lab/assets into assets with `rackboot assets import`, and
// checks that the sums it prints are the profiles'.
func importIgnitionAssets(t testing.TB, bin, assets string) {
	t.Helper()
	c, err := inventory.LoadCatalog("../testdata/lab/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Profiles() {
		if p.Ignition == nil {
			continue
		}
		for _, a := range []inventory.Artifact{p.Ignition.Kubelet, p.Ignition.CRIO} {
			out, err := exec.Command(bin, "assets", "import", "--assets-dir", assets,
				"--name", a.Asset, filepath.Join("../testdata/lab/assets", a.Asset)).Output()
			if err != nil {
				t.Fatalf("rackboot assets import %s: %v", a.Asset, err)
			}
			var sums map[string]struct{ SHA512 string }
			if err := yaml.Unmarshal(out, &sums); err != nil || sums[a.Asset].SHA512 != a.SHA512 {
				t.Fatalf("rackboot assets import %s printed %q (%v), want sha512 %s",
					a.Asset, out, err, a.SHA512)
			}
		}
	}
}

// ignitionSettings adds what rackboot needs to serve Ignition with c to
// its settings, and writes the cluster CA the lab's Ignition profile
// names into dir, rackboot's working folder. Without a cluster, the CA is
// a throwaway one: the profile must still pass its checks at start.
func ignitionSettings(t testing.TB, settings map[string]any, dir string, c *labCluster) {
	t.Helper()
	ca := throwawayCA(t)
	if c != nil {
		ca = c.cp.CA
		settings["kubeconfig"] = c.kubeconfig
		settings["token-ttl"] = labTokenTTL.String()
	}
	if err := os.WriteFile(filepath.Join(dir, "cluster-ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
}
