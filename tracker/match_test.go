package tracker

import (
	"net/netip"
	"testing"

	"github.com/rackboot/rackboot/inventory"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwner(t *testing.T) {
	b := newBench(t)
	// n2 has no reserved address: rackboot last saw it at 192.0.2.42.
	_, err := b.inv.Record("02:00:00:00:00:02", inventory.Event{Kind: inventory.EventDHCPAck,
		IP: netip.MustParseAddr("192.0.2.42")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, node, providerID, ip string
		owner                      string
		how                        matchKind
	}{
		{"provider id", "whatever", "rackboot://n1", "", "n1", byProvider},
		{"provider id beats name", "n2", "rackboot://n1", "", "n1", byProvider},
		{"unknown provider id, then name", "n2", "rackboot://n9", "", "n2", byName},
		{"foreign provider id, then name", "n1", "aws:///eu-west-1a/i-0", "", "n1", byName},
		{"name beats address", "n2", "", "192.0.2.11", "n2", byName},
		{"reserved address", "host-a", "", "192.0.2.11", "n1", byAddress},
		{"last seen address", "host-b", "", "192.0.2.42", "n2", byAddress},
		{"nothing", "host-c", "", "192.0.2.99", "", ""},
		{"no address", "host-d", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: tt.node},
				Spec: corev1.NodeSpec{ProviderID: tt.providerID}}
			if tt.ip != "" {
				n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: tt.ip}}
			}
			owner, how := b.tr.owner(n)
			if owner != tt.owner || how != tt.how {
				t.Errorf("owner(%s, %q, %s) = %q by %q, want %q by %q", tt.node, tt.providerID,
					tt.ip, owner, how, tt.owner, tt.how)
			}
		})
	}
}

// TestView checks that the tracker records on the MAC with the newest
// event and knows every address of the machine.
func TestView(t *testing.T) {
	b := newBench(t)
	for _, e := range []struct {
		mac string
		ip  string
	}{{"02:00:00:00:00:01", "192.0.2.50"}, {"02:00:00:00:00:0a", "192.0.2.51"}} {
		_, err := b.inv.Record(e.mac, inventory.Event{Kind: inventory.EventDHCPAck, IP: netip.MustParseAddr(e.ip)})
		if err != nil {
			t.Fatal(err)
		}
	}
	m, _ := machineByName(b.inv.Catalog(), "n1")
	v, err := b.tr.view(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.50"),
		netip.MustParseAddr("192.0.2.51")}
	if v.mac != "02:00:00:00:00:0a" || len(v.addrs) != 3 || v.addrs[0] != want[0] ||
		v.addrs[1] != want[1] || v.addrs[2] != want[2] {
		t.Errorf("view(n1) = mac %s, addrs %v, want 02:00:00:00:00:0a and %v", v.mac, v.addrs, want)
	}
}
