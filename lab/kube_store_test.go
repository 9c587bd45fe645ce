package lab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
)

// tinyProfile is testdata/lab/inventory.yaml's profile tiny as a Profile
// object.
var tinyProfile = object("Profile", "tiny", map[string]any{
	"kernel":  "tiny/vmlinuz",
	"initrds": []any{"tiny/initrd.gz"},
	"args":    "console=ttyS0 panic=-1 rackboot.url=http://" + serverIP + ":8080",
})

// TestLabKubernetesStore boots the Ignition guest through Ignition to its
// OS callback, and a plain BIOS guest, with one rackboot keeping its state
// in the lab's control plane: the machines are Machine objects (one made
// while rackboot runs), the plain guest's profile a Profile object. Then
// it checks each machine as kubectl shows it: the table's columns and row,
// status.recentEvents, the Kubernetes Events on the Machine, and the
// DHCPLease of its address.
func TestLabKubernetesStore(t *testing.T) {
	requireLab(t)
	bin, tos, n, ns := storeLab(t)
	capture(t, n)
	ns.forgetJoin(t, biosIgnitionGuest.name)
	ns.create(t, profilesGVR, tinyProfile)
	ns.create(t, machinesGVR, machineObject(biosIgnitionGuest, "tiny-ignition"))
	s := startReplica(t, n, ns, bin, tos, replicaConfig{id: "r1",
		profiles: []string{"tiny-ignition"}, ignition: true})

	// A Machine made while rackboot runs: its informer must bring it in.
	ns.create(t, machinesGVR, machineObject(biosIPXEGuest, "tiny"))
	waitDeclared(t, s, biosIPXEGuest)

	t.Run("boots", func(t *testing.T) {
		t.Run(biosIgnitionGuest.name, func(t *testing.T) {
			t.Parallel()
			checkIgnitionGuest(t, n, s.server, ns.cluster(), "tap0")
		})
		t.Run(biosIPXEGuest.name, func(t *testing.T) {
			t.Parallel()
			checkBoot(t, n, s.server, biosIPXEGuest, "tap1")
		})
	})
	if t.Failed() {
		return
	}
	for _, g := range []guest{biosIgnitionGuest, biosIPXEGuest} {
		t.Run("kubectl/"+g.name, func(t *testing.T) { checkMachineObject(t, ns, s, g) })
	}
}

// waitDeclared waits until rackboot's API shows g's MAC as the machine
// g.name declared through the store.
func waitDeclared(t *testing.T, s *replica, g guest) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var m struct{ Name, Source string }
		err := s.get(t.Context(), "/api/v1/machines/"+g.mac, &m)
		if err == nil && m.Name == g.name && m.Source == string(inventory.SourceAPI) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rackboot shows %s as %+v (%v) 15 s after its Machine was made, want %s from the api",
				g.mac, m, err, g.name)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// machineStatus is the part of a Machine's status the lab reads.
type machineStatus struct {
	State        string `json:"state"`
	IP           string `json:"ip"`
	RecentEvents []struct {
		Seq    int64  `json:"seq"`
		Time   string `json:"time"`
		Kind   string `json:"kind"`
		IP     string `json:"ip"`
		Detail string `json:"detail"`
	} `json:"recentEvents"`
	Reprovision *struct {
		Stage   string  `json:"stage"`
		Powered *string `json:"powered"`
		Replica string  `json:"replica"`
	} `json:"reprovision"`
}

// events converts the recent events to inventory events, for stagesDiff.
func (ms machineStatus) events() []inventory.Event {
	var out []inventory.Event
	for _, e := range ms.RecentEvents {
		out = append(out, inventory.Event{Seq: uint64(e.Seq), Kind: inventory.EventKind(e.Kind), Detail: e.Detail})
	}
	return out
}

// checkMachineObject checks g's Machine against what rackboot's API says
// of g: status (waiting for its coalesced write), the kubectl table, the
// Events, and the DHCPLease of its address.
func checkMachineObject(t *testing.T, ns *kubeNS, s *replica, g guest) {
	var api struct {
		State string `json:"state"`
		IP    string `json:"ip"`
	}
	if err := s.get(t.Context(), "/api/v1/machines/"+g.mac, &api); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, ns, g.name, 15*time.Second, func(st machineStatus) bool {
		return st.State == api.State && st.IP == api.IP && stagesDiff(st.events(), g.want) == ""
	})
	if diff := stagesDiff(st.events(), g.want); st.State != api.State || st.IP != api.IP || diff != "" {
		t.Errorf("Machine %s status: state %q ip %q, want %q %q as rackboot's API; recentEvents: %s",
			g.name, st.State, st.IP, api.State, api.IP, diff)
	}
	t.Logf("Machine %s status: state %s, ip %s, %d recent events", g.name, st.State, st.IP,
		len(st.RecentEvents))
	checkTable(t, ns, g.name, []string{g.name, api.State, api.IP})
	checkKubeEvents(t, ns, g)
	checkLease(t, ns, g.mac, api.IP)
}

// waitStatus polls Machine name's status until ok accepts it or d passes,
// and returns the last one read.
func waitStatus(t *testing.T, ns *kubeNS, name string, d time.Duration,
	ok func(machineStatus) bool) machineStatus {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := ns.get(t.Context(), machinesGVR, name)
		if err != nil {
			t.Fatalf("getting Machine %s: %v", name, err)
		}
		st := statusOf[machineStatus](t, m.Object)
		if ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// checkTable lists Machines as kubectl get does (server-side table) and
// checks the default columns and the cells of the row of name.
func checkTable(t *testing.T, ns *kubeNS, name string, want []string) {
	t.Helper()
	table := ns.cp.Table(t, "/apis/rackboot.io/v1alpha1/namespaces/"+ns.name+"/machines")
	var cols []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			cols = append(cols, c.Name)
		}
	}
	if want := []string{"Name", "State", "Address", "Node", "Age"}; !slices.Equal(cols, want) {
		t.Errorf("Machine table columns = %q, want %q", cols, want)
	}
	for _, r := range table.Rows {
		cells := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			cells[i] = fmt.Sprint(c)
		}
		if len(cells) > 0 && cells[0] == name {
			t.Logf("kubectl get machines: %q", cells)
			if len(cells) < len(want) || !slices.Equal(cells[:len(want)], want) {
				t.Errorf("Machine table row of %s = %q, want it to start %q", name, cells, want)
			}
			return
		}
	}
	t.Errorf("Machine table has no row %s (%d rows)", name, len(table.Rows))
}

// checkKubeEvents checks that the Events regarding g's Machine tell its
// boot: one reason per stage (its kind in CamelCase), reported by
// rackboot's replica r1. Events are written in the background: it waits.
func checkKubeEvents(t *testing.T, ns *kubeNS, g guest) {
	t.Helper()
	var want []string
	for _, k := range g.want {
		want = append(want, camel(string(k)))
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, err := ns.admin.CoreV1().Events(ns.name).List(t.Context(),
			metav1.ListOptions{FieldSelector: "involvedObject.name=" + g.name})
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, e := range list.Items {
			reasons = append(reasons, e.Reason)
		}
		missing := without(want, reasons)
		if len(missing) == 0 || time.Now().After(deadline) {
			if len(missing) > 0 {
				t.Errorf("Events on Machine %s have reasons %q, missing %q", g.name, reasons, missing)
			} else {
				t.Logf("Events on Machine %s: %q", g.name, reasons)
			}
			for _, e := range list.Items {
				checkEventSource(t, e)
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func checkEventSource(t *testing.T, e corev1.Event) {
	t.Helper()
	if e.ReportingController != "rackboot.io/rackboot" || e.ReportingInstance != "r1" ||
		e.InvolvedObject.Kind != "Machine" {
		t.Errorf("Event %s %s: reported by %q/%q about a %s, want rackboot.io/rackboot/r1 about a Machine",
			e.Reason, e.Message, e.ReportingController, e.ReportingInstance, e.InvolvedObject.Kind)
	}
}

// camel is an event kind as an Event's reason: "dhcp-ack" is "DhcpAck".
func camel(kind string) string {
	var b strings.Builder
	for _, w := range strings.Split(kind, "-") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// without returns the elements of want not in have.
func without(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// checkLease checks the DHCPLease of ip: mac holds it, unexpired.
func checkLease(t *testing.T, ns *kubeNS, mac, ip string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	l, err := ns.get(ctx, dhcpLeasesGVR, ip)
	if err != nil {
		t.Errorf("DHCPLease %s: %v", ip, err)
		return
	}
	spec, _ := l.Object["spec"].(map[string]any)
	expiry, err := time.Parse(time.RFC3339, fmt.Sprint(spec["expiry"]))
	if spec["mac"] != mac || err != nil || !expiry.After(time.Now()) {
		t.Errorf("DHCPLease %s spec = %v, want mac %s and an expiry ahead (%v)", ip, spec, mac, err)
	}
}
