package lab

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// dhcpHost is a host of the lab network that asks for an address with
// busybox's udhcpc: a declared machine that needs no virtual machine.
var dhcpHost = guest{name: "udhcpc-host", mac: "52:54:00:21:30:08"}

// TestLabAPIServerOutage stops the API server under a running replica
// that knows a machine, and checks that the replica keeps serving it:
// the machine's DHCP client gets its address again, while /readyz answers
// 503 and /api/v1/status says the store is degraded. Once the API server
// is back, /readyz answers 200 and the events recorded during the outage
// reach the Machine's status, and the renewed lease its DHCPLease.
func TestLabAPIServerOutage(t *testing.T) {
	requireLab(t)
	if _, err := exec.LookPath("busybox"); err != nil {
		t.Skipf("the outage lab needs busybox (Debian package busybox-static): %v", err)
	}
	bin, tos, n, ns := storeLab(t)
	capture(t, n)
	ns.create(t, machinesGVR, machineObject(dhcpHost, "tiny"))
	s := startReplica(t, n, ns, bin, tos, replicaConfig{id: "r1", profiles: []string{"tiny"}})
	h := newNetns(t)
	addClient(t, n, h, "dhcp0", dhcpHost.mac)

	ip := udhcpc(t, h, "dhcp0", "")
	before := waitStatus(t, ns, dhcpHost.name, 15*time.Second, func(st machineStatus) bool {
		return st.IP == ip && lastOf(st.events(), inventory.EventDHCPAck) != nil
	})
	lastSeq := lastOf(before.events(), inventory.EventDHCPAck).Seq
	expiry := leaseExpiry(t, ns, ip)

	restart := stopAPIServer(t, ns)
	if got := udhcpc(t, h, "dhcp0", ip); got != ip {
		t.Errorf("address during the outage = %s, want %s again", got, ip)
	}
	var m struct{ Name string }
	if err := s.get(t.Context(), "/api/v1/machines/"+dhcpHost.mac, &m); err != nil || m.Name != dhcpHost.name {
		t.Errorf("rackboot's API during the outage shows %s as %+v (%v), want %s", dhcpHost.mac, m, err, dhcpHost.name)
	}
	body := s.waitReadyz(t, http.StatusServiceUnavailable, 30*time.Second)
	t.Logf("/readyz during the outage: 503 %s", body)
	if !strings.Contains(body, "degraded") {
		t.Errorf("/readyz during the outage = 503 %q, want it to say degraded", body)
	}
	checkDegraded(t, s, true)

	restart()
	s.waitReadyz(t, http.StatusOK, time.Minute)
	checkDegraded(t, s, false)
	after := waitStatus(t, ns, dhcpHost.name, 30*time.Second, func(st machineStatus) bool {
		e := lastOf(st.events(), inventory.EventDHCPAck)
		return e != nil && e.Seq > lastSeq
	})
	if e := lastOf(after.events(), inventory.EventDHCPAck); e == nil || e.Seq <= lastSeq {
		t.Errorf("Machine %s recentEvents after the outage = %v, want a dhcp-ack after seq %d",
			dhcpHost.name, after.RecentEvents, lastSeq)
	}
	// The queued renewal goes out at the store's next retry, up to a
	// second after the API server answers again.
	deadline := time.Now().Add(30 * time.Second)
	got := leaseExpiry(t, ns, ip)
	for !got.After(expiry) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		got = leaseExpiry(t, ns, ip)
	}
	if !got.After(expiry) {
		t.Errorf("DHCPLease %s expiry 30 s after the outage = %s, want the renewal's, after %s", ip, got, expiry)
	}
}

// stopAPIServer stops the shared API server and returns the function
// that starts it again and waits until it is ready. The next test needs
// it: cleanup starts it if the test did not.
func stopAPIServer(t *testing.T, ns *kubeNS) (restart func()) {
	t.Helper()
	ns.cp.StopAPIServer()
	t.Logf("API server stopped")
	var once sync.Once
	restart = func() {
		once.Do(func() {
			start := time.Now()
			if err := ns.cp.StartAPIServer(); err != nil {
				t.Errorf("starting the API server again: %v", err)
				return
			}
			t.Logf("API server ready again after %s", since(start))
		})
	}
	t.Cleanup(restart)
	return restart
}

// checkDegraded checks what r's /api/v1/status says of the store.
func checkDegraded(t *testing.T, r *replica, want bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := r.status(ctx)
	if err != nil || st.Degraded != want || (want && st.Reason == "") {
		t.Errorf("/api/v1/status = %+v (%v), want degraded %v with a reason when degraded", st, err, want)
	}
}

// addClient connects h to n's bridge through a veth pair whose end in h
// is iface, with mac and no address.
func addClient(t *testing.T, n, h *netns, iface, mac string) {
	t.Helper()
	port := "v" + iface
	n.ip(t, "link", "add", port, "type", "veth", "peer", "name", iface, "netns", h.name)
	n.ip(t, "link", "set", port, "master", bridgeName, "up")
	h.ip(t, "link", "set", iface, "address", mac, "up")
}

var leaseLine = regexp.MustCompile(`lease of ([0-9.]+) obtained`)

// udhcpc runs busybox udhcpc on iface in h until it obtains a lease,
// asking for want if set, and returns the address.
func udhcpc(t *testing.T, h *netns, iface, want string) string {
	t.Helper()
	args := []string{"udhcpc", "-i", iface, "-f", "-q", "-n", "-t", "5", "-T", "2", "-s", "/bin/true"}
	if want != "" {
		args = append(args, "-r", want)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip",
		append([]string{"netns", "exec", h.name, "busybox"}, args...)...).CombinedOutput()
	m := leaseLine.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("udhcpc on %s: %v\n%s", iface, err, out)
	}
	t.Logf("udhcpc: %s", strings.TrimSpace(string(out)))
	return string(m[1])
}

// leaseExpiry reads the expiry of the DHCPLease of ip.
func leaseExpiry(t *testing.T, ns *kubeNS, ip string) time.Time {
	t.Helper()
	l, err := ns.get(t.Context(), dhcpLeasesGVR, ip)
	if err != nil {
		t.Fatalf("DHCPLease %s: %v", ip, err)
	}
	spec, _ := l.Object["spec"].(map[string]any)
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(spec["expiry"]))
	if err != nil {
		t.Fatalf("DHCPLease %s expiry %v: %v", ip, spec["expiry"], err)
	}
	return exp
}
