package lab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/internal/redfishsim"
	"github.com/rackboot/rackboot/inventory"
)

// Leader election timings of the failover lab: short, so that a takeover
// fits the test, and in the proportions of the defaults (15s, 10s, 2s).
const (
	haLease = 6 * time.Second
	haRenew = 4 * time.Second
	haRetry = time.Second
)

// leaderLease is the Lease the replicas elect a leader with.
const leaderLease = "rackboot-leader"

// haSettings are the settings both replicas of the failover lab share.
func haSettings() map[string]any {
	return map[string]any{
		"leader-elect": true, "leader-lease-duration": haLease.String(),
		"leader-renew-deadline": haRenew.String(), "leader-retry-period": haRetry.String(),
		"provision-poll-interval": "500ms",
	}
}

// TestLabFailover runs two replicas on the lab network, each in its own
// namespace, sharing one store namespace. A reprovision of the Redfish
// guest, whose BMC credentials are a Secret, is submitted to the follower;
// once the leader's power cycle is acknowledged and saved, the leader is
// killed (SIGKILL). The other replica must take the leader Lease within
// its duration and bring the machine to provision-done, with the takeover
// on its timeline, without a second power cycle.
func TestLabFailover(t *testing.T) {
	requireLab(t)
	bin, tos, n, ns := storeLab(t)
	capture(t, n)
	n.addTap(t, "tap0")
	sim := startRedfishAt(t, n, newChassis(t, redfishGuest, "tap0"), serverIP+":0")
	ns.create(t, profilesGVR, tinyProfile)
	ns.createSecret(t, "bios-redfish-bmc", redfishUser, redfishPassword)
	ns.create(t, machinesGVR, redfishMachineObject(t, sim, ns.name, "bios-redfish-bmc"))
	rs := map[string]*replica{}
	for _, rc := range []replicaConfig{
		{id: "r1", iface: "r1eth", cidr: "10.213.0.11/24", settings: haSettings()},
		{id: "r2", iface: "r2eth", cidr: "10.213.0.12/24", settings: haSettings()},
	} {
		rs[rc.id] = startReplica(t, n, ns, bin, tos, rc)
	}
	// The tiny OS calls back rackboot.url, the lab server's address.
	balance(t, n, serverIP+":8080", "10.213.0.11:8080", "10.213.0.12:8080")

	first := waitLeader(t, ns, "", 3*haLease)
	lead, follower := rs[first], rs[other(first)]
	t.Logf("%s leads; submitting the reprovision to %s", first, follower.id)
	start := time.Now()
	follower.cli(t, follower.n, "reprovision", redfishGuest.name)
	waitPowered(t, ns, lead)
	logKinds(t, follower.id+" sees before the kill", follower.mustTimeline(t, redfishGuest.mac))

	lead.kill(t)
	killed := time.Now()
	// client-go's candidates count a Lease expired haLease after they saw
	// it renewed, and try every haRetry with up to 120% jitter.
	second := waitLeader(t, ns, first, haLease+4*haRetry)
	t.Logf("%s killed %s after the submission; %s leads %s later", first, since(start), second,
		time.Since(killed).Round(100*time.Millisecond))
	if second != follower.id {
		t.Fatalf("leader after killing %s = %s, want %s", first, second, follower.id)
	}
	checkLeaderStatus(t, follower)

	events := waitProvisionEnd(t, follower, redfishGuest.mac)
	for _, e := range events {
		t.Logf("failover: %-17s %-13s %s", e.Kind, ipString(e), e.Detail)
	}
	if diff := stagesDiff(events, reprovisionStages); diff != "" {
		t.Errorf("timeline of %s after the failover: %s", redfishGuest.name, diff)
		st := waitStatus(t, ns, redfishGuest.name, 0, func(machineStatus) bool { return true })
		logKinds(t, "Machine status.recentEvents", st.events())
	}
	resumed := lastOf(events, inventory.EventProvisionResumed)
	if resumed == nil || !strings.Contains(resumed.Detail, "taken over by") ||
		!strings.Contains(resumed.Detail, second) {
		t.Errorf("provision-resumed = %+v, want one saying taken over by %s", resumed, second)
	}
	// The power cycle was saved before the kill: the new leader must not
	// power cycle the machine again.
	resets := sim.Resets()
	t.Logf("Redfish resets %q, boots %q", resets, sim.Boots())
	if len(resets) != 1 {
		t.Errorf("Redfish resets = %q, want one power cycle", resets)
	}
}

// logKinds logs the kinds of events, in order, on one line.
func logKinds(t *testing.T, what string, events []inventory.Event) {
	kinds := make([]string, len(events))
	for i, e := range events {
		kinds[i] = string(e.Kind)
	}
	t.Logf("%s: %s", what, strings.Join(kinds, " "))
}

// other is the id of the other replica of the failover lab.
func other(id string) string {
	if id == "r1" {
		return "r2"
	}
	return "r1"
}

// createSecret creates the Secret name holding a BMC's credentials under
// the keys a credentialsSecretRef reads by default.
func (ns *kubeNS) createSecret(t *testing.T, name, user, password string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name},
		StringData: map[string]string{"username": user, "password": password}}
	if _, err := ns.admin.CoreV1().Secrets(ns.name).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// redfishMachineObject is redfishGuest's Machine behind sim, its
// credentials in Secret secret of namespace secretNS, sim's certificate
// its CA file.
func redfishMachineObject(t *testing.T, sim *redfishsim.Server, secretNS, secret string) map[string]any {
	t.Helper()
	ca := filepath.Join(t.ArtifactDir(), "redfish-ca.pem")
	if err := os.WriteFile(ca, sim.CertificatePEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	m := machineObject(redfishGuest, "tiny")
	m["spec"].(map[string]any)["bmc"] = map[string]any{
		"protocol": "redfish", "address": sim.Host(), "port": sim.Port(), "caFile": ca,
		"bootMode":             "legacy",
		"credentialsSecretRef": map[string]any{"name": secret, "namespace": secretNS},
	}
	return m
}

// waitLeader waits up to d for the leader Lease to name a holder other
// than not, and returns it.
func waitLeader(t *testing.T, ns *kubeNS, not string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		l, err := ns.admin.CoordinationV1().Leases(ns.name).Get(t.Context(), leaderLease, metav1.GetOptions{})
		holder := ""
		if err == nil && l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		if holder != "" && holder != not {
			return holder
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lease %s holder = %q (%v) after %s, want a replica other than %q",
				leaderLease, holder, err, d, not)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitPowered waits until the leader's timeline shows the power cycle
// acknowledged, and then until the Machine records it: the saved job's
// powered time, and bmc-power in status.recentEvents (written coalesced,
// about 250 ms late). A new leader must then neither power cycle the
// machine again nor lose those events. It returns when bmc-power was
// recorded.
func waitPowered(t *testing.T, ns *kubeNS, lead *replica) time.Time {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var power *inventory.Event
	for power == nil {
		events, _ := lead.timeline(t.Context(), redfishGuest.mac)
		if started := indexKind(events, 0, inventory.EventProvisionStarted); started >= 0 {
			if i := indexKind(events, started, inventory.EventBMCPower); i >= 0 {
				power = &events[i]
			}
		}
		if power == nil && time.Now().After(deadline) {
			t.Fatalf("%s recorded no bmc-power after provision-started within a minute: %s",
				lead.id, stagesDiff(events, reprovisionStages[:3]))
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := waitStatus(t, ns, redfishGuest.name, 5*time.Second, func(st machineStatus) bool {
		return st.Reprovision != nil && st.Reprovision.Powered != nil &&
			lastOf(st.events(), inventory.EventBMCPower) != nil
	})
	logKinds(t, "Machine status.recentEvents before the kill", st.events())
	if st.Reprovision == nil || st.Reprovision.Powered == nil ||
		lastOf(st.events(), inventory.EventBMCPower) == nil {
		t.Fatalf("Machine %s 5 s after bmc-power: reprovision %+v, want powered set and bmc-power among the recent events",
			redfishGuest.name, st.Reprovision)
	}
	t.Logf("power cycle at %s recorded %s later, saved job: %+v", power.Time.Format(time.StampMilli),
		time.Since(power.Time).Round(10*time.Millisecond), *st.Reprovision)
	return power.Time
}

// checkLeaderStatus checks that r's /api/v1/status names r as the leader.
func checkLeaderStatus(t *testing.T, r *replica) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := r.status(ctx)
	if err != nil || st.Leader != r.id || st.Replica != r.id || st.Degraded {
		t.Errorf("%s: /api/v1/status = %+v (%v), want leader and replica %s, not degraded", r.id, st, err, r.id)
	}
}

// waitProvisionEnd waits up to guestTimeout for mac's timeline on r to
// end the reprovision, and returns it.
func waitProvisionEnd(t *testing.T, r *replica, mac string) []inventory.Event {
	t.Helper()
	start := time.Now()
	seen := 0
	for {
		seen = logNewEvents(t, r.server, mac, seen, start)
		events := r.mustTimeline(t, mac)
		if lastOf(events, inventory.EventProvisionDone) != nil ||
			lastOf(events, inventory.EventProvisionFailed) != nil {
			return events
		}
		if time.Since(start) > guestTimeout {
			t.Fatalf("%s: the reprovision did not end within %s", r.id, guestTimeout)
		}
		time.Sleep(time.Second)
	}
}
