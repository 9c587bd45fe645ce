package kubestore

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// Limits of one lease write.
const (
	leaseWriteTimeout = 5 * time.Second
	leaseAttempts     = 5 // reads and writes after a Conflict
)

// PutLease claims l.IP for l.MAC until l.Expiry (RFC 2131 section 4.3.2:
// the lease is stored before the ACK). It creates the address's object;
// when one exists, it takes it over if l.MAC holds it already, or its
// lease ran out or was released, and returns an error wrapping
// *inventory.LeaseConflict (and so inventory.ErrConflict) when another
// MAC holds it unexpired. It then drops l.MAC's leases of other
// addresses: one MAC, one lease.
//
// When the API server cannot be reached, a renewal of l.MAC's own
// unexpired lease is queued and retried by run; a new claim returns an
// error wrapping ErrUnavailable.
func (ls *leases) PutLease(l inventory.Lease) error {
	ctx, cancel := context.WithTimeout(context.Background(), leaseWriteTimeout)
	defer cancel()
	err := ls.claim(ctx, l)
	if err != nil && isUnavailable(err) && ls.renewal(l) {
		ls.queue(l)
		ls.log.Warn("API server unreachable, lease renewal queued", "mac", l.MAC, "ip", l.IP, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("storing lease %s for %s: %w", l.IP, l.MAC, unavailable(err))
	}
	ls.dropOthers(ctx, l)
	return nil
}

// claim creates or takes over the object of l.IP for l.
func (ls *leases) claim(ctx context.Context, l inventory.Lease) error {
	for try := range leaseAttempts {
		err := ls.create(ctx, v1alpha1.DHCPLeaseFromInventory(l))
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		cur, err := ls.get(ctx, l.IP)
		if apierrors.IsNotFound(err) {
			continue // deleted meanwhile: create again
		}
		if err != nil {
			return err
		}
		if err := ls.mayTake(cur, l); err != nil {
			return err
		}
		cur.SetLease(l)
		if err = ls.update(ctx, cur); !apierrors.IsConflict(err) {
			return err
		}
		backoff(ctx, try)
	}
	return fmt.Errorf("address changed %d times while claiming it", leaseAttempts)
}

// mayTake returns nil when l.MAC may take the address of cur over.
func (ls *leases) mayTake(cur *v1alpha1.DHCPLease, l inventory.Lease) error {
	held, ok, err := cur.Lease()
	switch {
	case err != nil:
		return fmt.Errorf("reading DHCPLease %s: %w", cur.Name, err)
	case !ok || held.MAC == l.MAC || held.Expired(ls.now()):
		return nil
	}
	return &inventory.LeaseConflict{Holder: held}
}

// renewal reports whether l renews a lease the cache shows l.MAC holding
// unexpired: one that no other replica may hand out meanwhile.
func (ls *leases) renewal(l inventory.Lease) bool {
	d, ok := ls.cached(l.IP)
	if !ok {
		return false
	}
	held, ok, err := d.Lease()
	return ok && err == nil && held.MAC == l.MAC && !held.Expired(ls.now())
}

// dropOthers removes l.MAC's leases of other addresses than l.IP.
func (ls *leases) dropOthers(ctx context.Context, l inventory.Lease) {
	for _, d := range ls.ofMAC(l.MAC) {
		if d.Name == v1alpha1.DHCPLeaseName(l.IP) {
			continue
		}
		if err := ls.removeLease(ctx, d, l.MAC); err != nil {
			ls.log.Warn("dropping an older lease", "mac", l.MAC, "ip", d.Name, "err", err)
		}
	}
}

// DeleteLease removes the lease of mac; a missing one is not an error. An
// address in quarantine keeps its object, without the lease.
func (ls *leases) DeleteLease(mac string) error {
	ctx, cancel := context.WithTimeout(context.Background(), leaseWriteTimeout)
	defer cancel()
	for _, d := range ls.ofMAC(mac) {
		if err := ls.removeLease(ctx, d, mac); err != nil {
			return fmt.Errorf("deleting lease of %s: %w", mac, unavailable(err))
		}
	}
	return nil
}

// removeLease drops mac's lease from d, as long as mac holds it: the
// object goes unless it keeps a quarantine.
func (ls *leases) removeLease(ctx context.Context, d *v1alpha1.DHCPLease, mac string) error {
	for range leaseAttempts {
		if string(d.Spec.MAC) != mac {
			return nil
		}
		var err error
		if d.Spec.DeclinedUntil != nil {
			d = d.DeepCopy()
			d.ClearLease()
			err = ls.update(ctx, d)
		} else {
			err = ls.delete(ctx, d)
		}
		if !apierrors.IsConflict(err) {
			return ignoreNotFound(err)
		}
		ip, _ := d.IP()
		if d, err = ls.get(ctx, ip); err != nil {
			return ignoreNotFound(err)
		}
	}
	return fmt.Errorf("address %s changed %d times while deleting its lease", d.Name, leaseAttempts)
}

// PutDeclined quarantines ip until until (RFC 2131 section 4.3.3),
// keeping any lease the address's object holds.
func (ls *leases) PutDeclined(ip netip.Addr, until time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), leaseWriteTimeout)
	defer cancel()
	if err := ls.quarantine(ctx, inventory.Declined{IP: ip, Until: until}); err != nil {
		return fmt.Errorf("storing declined address %s: %w", ip, unavailable(err))
	}
	return nil
}

func (ls *leases) quarantine(ctx context.Context, q inventory.Declined) error {
	want := v1alpha1.DeclinedFromInventory(q)
	for try := range leaseAttempts {
		err := ls.create(ctx, want)
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		cur, err := ls.get(ctx, q.IP)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		cur.Spec.DeclinedUntil = want.Spec.DeclinedUntil
		if err = ls.update(ctx, cur); !apierrors.IsConflict(err) {
			return err
		}
		backoff(ctx, try)
	}
	return fmt.Errorf("address changed %d times while quarantining it", leaseAttempts)
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (ls *leases) get(ctx context.Context, ip netip.Addr) (*v1alpha1.DHCPLease, error) {
	out := &v1alpha1.DHCPLease{}
	err := ls.client.Get().Namespace(ls.ns).Resource(leaseResource).
		Name(v1alpha1.DHCPLeaseName(ip)).Do(ctx).Into(out)
	return out, err
}

func (ls *leases) create(ctx context.Context, d *v1alpha1.DHCPLease) error {
	return ls.client.Post().Namespace(ls.ns).Resource(leaseResource).
		Body(d).Do(ctx).Error()
}

// update writes d, which carries the resourceVersion it was read at.
func (ls *leases) update(ctx context.Context, d *v1alpha1.DHCPLease) error {
	return ls.client.Put().Namespace(ls.ns).Resource(leaseResource).
		Name(d.Name).Body(d).Do(ctx).Error()
}

// delete removes d if it is still at the resourceVersion it was read at.
func (ls *leases) delete(ctx context.Context, d *v1alpha1.DHCPLease) error {
	rv := d.ResourceVersion
	opts := &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}}
	return ls.client.Delete().Namespace(ls.ns).Resource(leaseResource).
		Name(d.Name).Body(opts).Do(ctx).Error()
}
