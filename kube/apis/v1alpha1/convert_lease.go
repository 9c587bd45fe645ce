package v1alpha1

import (
	"fmt"
	"net/netip"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
)

// DHCPLeaseName returns the name of the DHCPLease of ip: its dotted form.
func DHCPLeaseName(ip netip.Addr) string { return ip.Unmap().String() }

// DHCPLeaseFromInventory returns l as a DHCPLease named by l.IP, in no
// namespace.
func DHCPLeaseFromInventory(l inventory.Lease) *DHCPLease {
	d := newDHCPLease(l.IP)
	d.SetLease(l)
	return d
}

// DeclinedFromInventory returns the quarantine q as a DHCPLease named by
// q.IP, in no namespace.
func DeclinedFromInventory(q inventory.Declined) *DHCPLease {
	d := newDHCPLease(q.IP)
	d.Spec.DeclinedUntil = leaseTime(q.Until)
	return d
}

func newDHCPLease(ip netip.Addr) *DHCPLease {
	return &DHCPLease{
		TypeMeta:   metav1.TypeMeta{APIVersion: GroupVersion.String(), Kind: "DHCPLease"},
		ObjectMeta: metav1.ObjectMeta{Name: DHCPLeaseName(ip)},
	}
}

// SetLease makes d's lease l (mac, expiry, hostname), keeping its
// quarantine. It does not rename d.
func (d *DHCPLease) SetLease(l inventory.Lease) {
	d.Spec.MAC = MAC(l.MAC)
	d.Spec.Expiry = leaseTime(l.Expiry)
	d.Spec.Hostname = l.Hostname
}

// ClearLease drops d's lease, keeping its quarantine.
func (d *DHCPLease) ClearLease() { d.SetLease(inventory.Lease{}) }

// IP returns the address d is named by.
func (d *DHCPLease) IP() (netip.Addr, error) {
	ip, err := netip.ParseAddr(d.Name)
	if err != nil || !ip.Is4() || ip.String() != d.Name {
		return netip.Addr{}, fmt.Errorf("metadata.name: %q is not an IPv4 address in dotted form", d.Name)
	}
	return ip, nil
}

// Lease returns d's lease in inventory form; ok is false when d holds a
// quarantine only. Errors name the field at fault.
func (d *DHCPLease) Lease() (l inventory.Lease, ok bool, err error) {
	if d.Spec.MAC == "" {
		return inventory.Lease{}, false, nil
	}
	ip, err := d.IP()
	if err != nil {
		return inventory.Lease{}, false, err
	}
	mac, err := inventory.NormalizeMAC(string(d.Spec.MAC))
	if err != nil {
		return inventory.Lease{}, false, fmt.Errorf("spec.mac: %w", err)
	}
	if d.Spec.Expiry == nil {
		return inventory.Lease{}, false, fmt.Errorf("spec.expiry: required with spec.mac")
	}
	l = inventory.Lease{MAC: mac, IP: ip, Expiry: d.Spec.Expiry.UTC(), Hostname: d.Spec.Hostname}
	return l, true, nil
}

// Declined returns d's quarantine in inventory form, ended or not; ok is
// false when d has none.
func (d *DHCPLease) Declined() (q inventory.Declined, ok bool, err error) {
	if d.Spec.DeclinedUntil == nil {
		return inventory.Declined{}, false, nil
	}
	ip, err := d.IP()
	if err != nil {
		return inventory.Declined{}, false, err
	}
	return inventory.Declined{IP: ip, Until: d.Spec.DeclinedUntil.UTC()}, true, nil
}

// leaseTime returns t at microsecond precision, what the API server
// keeps; the zero time becomes nil.
func leaseTime(t time.Time) *metav1.MicroTime {
	if t.IsZero() {
		return nil
	}
	m := metav1.NewMicroTime(t.UTC().Truncate(time.Microsecond))
	return &m
}
