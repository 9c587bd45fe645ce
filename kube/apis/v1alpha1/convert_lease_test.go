package v1alpha1_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

var dhcpLeaseTime = time.Date(2026, 12, 1, 10, 30, 0, 123456789, time.UTC)

// TestDHCPLeaseRoundTrip checks that a lease and a quarantine come back from
// a DHCPLease as they went in, at the microsecond precision the API
// server keeps, and that both fit on one object.
func TestDHCPLeaseRoundTrip(t *testing.T) {
	l := inventory.Lease{MAC: "02:00:00:00:00:0a", IP: netip.MustParseAddr("10.0.0.7"),
		Expiry: dhcpLeaseTime, Hostname: "worker-1"}
	d := v1alpha1.DHCPLeaseFromInventory(l)
	if d.Name != "10.0.0.7" || d.Kind != "DHCPLease" || d.APIVersion != "rackboot.io/v1alpha1" {
		t.Errorf("DHCPLeaseFromInventory(%v) = %s %s/%s, want 10.0.0.7 rackboot.io/v1alpha1/DHCPLease",
			l, d.Name, d.APIVersion, d.Kind)
	}
	until := dhcpLeaseTime.Add(time.Hour)
	d.Spec.DeclinedUntil = v1alpha1.DeclinedFromInventory(inventory.Declined{IP: l.IP, Until: until}).Spec.DeclinedUntil

	got, ok, err := d.Lease()
	want := l
	want.Expiry = dhcpLeaseTime.Truncate(time.Microsecond)
	if err != nil || !ok {
		t.Fatalf("Lease() = %v, %v, want a lease", ok, err)
	}
	if diff := cmp.Diff(want, got, equateAddrs); diff != "" {
		t.Errorf("Lease() (-want +got):\n%s", diff)
	}
	q, ok, err := d.Declined()
	wantQ := inventory.Declined{IP: l.IP, Until: until.Truncate(time.Microsecond)}
	if err != nil || !ok {
		t.Fatalf("Declined() = %v, %v, want a quarantine", ok, err)
	}
	if diff := cmp.Diff(wantQ, q, equateAddrs); diff != "" {
		t.Errorf("Declined() (-want +got):\n%s", diff)
	}

	d.ClearLease()
	if _, ok, err := d.Lease(); ok || err != nil {
		t.Errorf("Lease() after ClearLease = %v, %v, want none", ok, err)
	}
	if _, ok, _ := d.Declined(); !ok {
		t.Errorf("Declined() after ClearLease = none, want the quarantine kept")
	}
}

// TestDHCPLeaseErrors checks that a DHCPLease the schema would refuse (made
// by hand or by an older rackboot) converts to an error naming the field.
func TestDHCPLeaseErrors(t *testing.T) {
	exp := metav1.NewMicroTime(dhcpLeaseTime)
	tests := []struct {
		name string
		d    v1alpha1.DHCPLease
		want string
	}{
		{"name not an address", v1alpha1.DHCPLease{ObjectMeta: metav1.ObjectMeta{Name: "lease-1"},
			Spec: v1alpha1.DHCPLeaseSpec{MAC: "02:00:00:00:00:01", Expiry: &exp}}, "metadata.name"},
		{"name IPv6", v1alpha1.DHCPLease{ObjectMeta: metav1.ObjectMeta{Name: "fd00::1"},
			Spec: v1alpha1.DHCPLeaseSpec{MAC: "02:00:00:00:00:01", Expiry: &exp}}, "metadata.name"},
		{"name not canonical", v1alpha1.DHCPLease{ObjectMeta: metav1.ObjectMeta{Name: "::ffff:10.0.0.1"},
			Spec: v1alpha1.DHCPLeaseSpec{MAC: "02:00:00:00:00:01", Expiry: &exp}}, "metadata.name"},
		{"bad mac", v1alpha1.DHCPLease{ObjectMeta: metav1.ObjectMeta{Name: "10.0.0.1"},
			Spec: v1alpha1.DHCPLeaseSpec{MAC: "not-a-mac", Expiry: &exp}}, "spec.mac"},
		{"no expiry", v1alpha1.DHCPLease{ObjectMeta: metav1.ObjectMeta{Name: "10.0.0.1"},
			Spec: v1alpha1.DHCPLeaseSpec{MAC: "02:00:00:00:00:01"}}, "spec.expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.d.Lease()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Lease() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestDHCPLeaseMACNormalized checks that a MAC written in another form by
// hand comes back canonical, as the rest of rackboot compares MACs.
func TestDHCPLeaseMACNormalized(t *testing.T) {
	exp := metav1.NewMicroTime(dhcpLeaseTime)
	d := v1alpha1.DHCPLease{ObjectMeta: metav1.ObjectMeta{Name: "10.0.0.1"},
		Spec: v1alpha1.DHCPLeaseSpec{MAC: "02-00-00-00-00-AB", Expiry: &exp}}
	l, ok, err := d.Lease()
	if err != nil || !ok || l.MAC != "02:00:00:00:00:ab" {
		t.Errorf("Lease().MAC = %q, %v, %v, want 02:00:00:00:00:ab", l.MAC, ok, err)
	}
}
