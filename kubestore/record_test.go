package kubestore

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

func TestRecordDeclared(t *testing.T) {
	s := storeSetup(t, 1)[0]
	const mac = "02:00:00:00:00:11"
	if err := s.PutStoredMachine(testMachine("worker-3", mac)); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.11")
	var last inventory.Event
	for i := range 24 {
		e, err := s.Record(mac, inventory.Event{Kind: inventory.EventDHCPAck, IP: ip, Detail: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq <= last.Seq {
			t.Errorf("Record #%d: Seq %d, not above the last one's %d", i, e.Seq, last.Seq)
		}
		last = e
	}
	last, _ = s.Record(mac, inventory.Event{Kind: inventory.EventScriptServed})
	failed, _ := s.Record(mac, inventory.Event{Kind: inventory.EventProvisionFailed, Detail: "stalled at booting"})
	if err := s.PutBootUUID(mac, "4C4C4544-0042-3510-8044-B4C04F4B4E32"); err != nil {
		t.Fatal(err)
	}

	if tl, _ := s.Timeline(mac); len(tl) != 26 || tl[25] != failed {
		t.Errorf("Timeline has %d events ending %+v, want 26 ending %+v", len(tl), tl[len(tl)-1], failed)
	}
	waitFor(t, "the status write", func() bool {
		m := apiMachine(t, s, "worker-3")
		return m.Status.LastEvent != nil && m.Status.LastEvent.Seq == int64(failed.Seq) &&
			len(m.Status.MACs) == 1 && m.Status.MACs[0].BootUUID != ""
	})
	m := apiMachine(t, s, "worker-3")
	if n := len(m.Status.RecentEvents); n != v1alpha1.MaxRecentEvents {
		t.Errorf("status.recentEvents holds %d events, want %d", n, v1alpha1.MaxRecentEvents)
	}
	st := m.Status
	if st.State != "failed" || st.IP != "192.0.2.11" || st.FirstSeen == nil || st.MACs[0].State != "failed" ||
		st.MACs[0].BootUUID != "4c4c4544-0042-3510-8044-b4c04f4b4e32" || st.RecentEvents[18].Seq != int64(last.Seq) {
		t.Errorf("status = state %q, ip %q, firstSeen %v, macs %+v; want failed, 192.0.2.11, set, one failed MAC with its UUID",
			st.State, st.IP, st.FirstSeen, st.MACs)
	}

	waitFor(t, "the Kubernetes Events", func() bool {
		return hasKubeEvent(t, s, "worker-3", "DhcpAck", corev1.EventTypeNormal) &&
			hasKubeEvent(t, s, "worker-3", "ProvisionFailed", corev1.EventTypeWarning)
	})
}

// hasKubeEvent reports whether the Machine called name has an Event of
// reason and type from rackboot's replica.
func hasKubeEvent(t *testing.T, s *Store, name, reason, typ string) bool {
	t.Helper()
	list, err := s.core.CoreV1().Events(s.ns).List(t0(), metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Reason == reason && e.Type == typ && e.ReportingController == Controller &&
			e.ReportingInstance == s.replica && e.InvolvedObject.Kind == "Machine" {
			return true
		}
	}
	return false
}

func TestRecordUndeclared(t *testing.T) {
	s := storeSetup(t, 1)[0]
	const mac = "02:00:00:00:00:21"
	ip := netip.MustParseAddr("192.0.2.21")
	for range undeclaredEvents + 10 {
		if _, err := s.Record(mac, inventory.Event{Kind: inventory.EventDHCPDiscover, IP: ip}); err != nil {
			t.Fatal(err)
		}
	}
	if tl, _ := s.Timeline(mac); len(tl) != undeclaredEvents {
		t.Errorf("Timeline of an undeclared MAC holds %d events, want %d", len(tl), undeclaredEvents)
	}
	e, err := s.RecordByIP(ip, inventory.Event{Kind: inventory.EventTFTPServed})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(mac)
	if err != nil || st.State != inventory.StateBooting || st.LastEvent != e {
		t.Errorf("Status = %+v, %v; want booting with last event %+v", st, err, e)
	}
	if hasKubeEvent(t, s, mac, "TftpServed", corev1.EventTypeNormal) {
		t.Error("an undeclared MAC got a Kubernetes Event")
	}
	if _, err := s.Status("02:00:00:00:00:99"); err == nil {
		t.Error("Status of an unknown MAC = nil error, want ErrNotFound")
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		kind inventory.EventKind
		want string
	}{
		{inventory.EventDHCPAck, "DhcpAck"},
		{inventory.EventOSCallback, "OsCallback"},
		{inventory.EventStalled, "Stalled"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			if got := Reason(tc.kind); got != tc.want {
				t.Errorf("Reason(%q) = %q, want %q", tc.kind, got, tc.want)
			}
		})
	}
}
