package v1alpha1_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// testDHCPLeases checks that the API server keeps a lease and its
// quarantine as rackboot wrote them, refuses malformed ones naming the
// field, and refuses a second object for one address.
func testDHCPLeases(t *testing.T, c *cluster) {
	leases := dynamic.NewForConfigOrDie(c.cp.Admin).Resource(v1alpha1.DHCPLeasesResource).Namespace(ns)
	l := inventory.Lease{MAC: "02:00:00:00:00:0a", IP: netip.MustParseAddr("10.0.0.7"),
		Expiry: dhcpLeaseTime, Hostname: "worker-1"}
	want := v1alpha1.DHCPLeaseFromInventory(l)
	want.Spec.DeclinedUntil = v1alpha1.DeclinedFromInventory(
		inventory.Declined{IP: l.IP, Until: dhcpLeaseTime.Add(time.Minute)}).Spec.DeclinedUntil
	u, err := leases.Create(t.Context(), toUnstructured(t, want), strict)
	if err != nil {
		t.Fatalf("creating a lease: %v", err)
	}
	var got v1alpha1.DHCPLease
	fromUnstructured(t, u, &got)
	if diff := cmp.Diff(want.Spec, got.Spec); diff != "" {
		t.Errorf("created lease's spec (-want +got):\n%s", diff)
	}
	_, err = leases.Create(t.Context(), toUnstructured(t, want), strict)
	if err == nil {
		t.Errorf("creating %s twice = nil error, want AlreadyExists", want.Name)
	}

	exp := metav1.NewMicroTime(dhcpLeaseTime)
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.DHCPLease)
		want   string
	}{
		{"name not an address", func(d *v1alpha1.DHCPLease) { d.Name = "lease-1" }, "metadata.name must be an IPv4 address"},
		{"name not canonical", func(d *v1alpha1.DHCPLease) { d.Name = "10.0.0.07" }, "metadata.name must be an IPv4 address"},
		{"mac upper case", func(d *v1alpha1.DHCPLease) { d.Spec.MAC = "02:00:00:00:00:AB" }, "spec.mac"},
		{"mac without expiry", func(d *v1alpha1.DHCPLease) { d.Spec.Expiry = nil }, "mac and expiry go together"},
		{"expiry without mac", func(d *v1alpha1.DHCPLease) { d.Spec.MAC, d.Spec.Hostname = "", "" }, "mac and expiry go together"},
		{"empty", func(d *v1alpha1.DHCPLease) { d.Spec = v1alpha1.DHCPLeaseSpec{} }, "needs a mac or a declinedUntil"},
		{"hostname alone", func(d *v1alpha1.DHCPLease) {
			d.Spec = v1alpha1.DHCPLeaseSpec{Hostname: "h", DeclinedUntil: &exp}
		}, "hostname needs a mac"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := v1alpha1.DHCPLeaseFromInventory(l)
			d.Name = "10.0.0.8"
			tc.change(d)
			_, err := leases.Create(t.Context(), toUnstructured(t, d), strict)
			checkInvalid(t, err, tc.want)
		})
	}
}
