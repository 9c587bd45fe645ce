package kubestore

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// leaseResource is the resource of DHCPLeases in REST paths.
const leaseResource = "dhcpleases"

// leaseMACIndex indexes DHCPLeases by the MAC holding them.
const leaseMACIndex = "mac"

// retryEvery is how often queued renewals are tried again.
const retryEvery = time.Second

// leases keeps authoritative DHCP's leases and quarantines as DHCPLease
// objects, one per address, named by it. Creating the object is the
// claim: the API server lets one replica create it, and any change after
// that needs the resourceVersion read, so two replicas never lease one
// address to two MACs. Reads answer from the informer's cache.
type leases struct {
	client   rest.Interface
	ns       string
	now      func() time.Time
	log      *slog.Logger
	informer cache.SharedIndexInformer

	mu sync.Mutex
	// guarded by mu:
	subs    []func(inventory.Lease, bool)
	pending map[netip.Addr]inventory.Lease // renewals waiting for the API server
}

// newLeases returns the leases of namespace ns, read and written through
// client (a REST client of rackboot.io/v1alpha1, as newClients builds). now
// is the clock lease expiry is judged by; nil means time.Now. Nothing is
// read before run starts.
func newLeases(client rest.Interface, ns string, now func() time.Time, log *slog.Logger) *leases {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lw := cache.NewListWatchFromClient(client, leaseResource, ns, fields.Everything())
	ls := &leases{
		client:  client,
		ns:      ns,
		now:     now,
		log:     log,
		pending: make(map[netip.Addr]inventory.Lease),
		informer: cache.NewSharedIndexInformer(lw, &v1alpha1.DHCPLease{}, 0,
			cache.Indexers{leaseMACIndex: indexByMAC}),
	}
	ls.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ls.changed(nil, obj) },
		UpdateFunc: ls.changed,
		DeleteFunc: func(obj any) { ls.changed(obj, nil) },
	})
	return ls
}

func indexByMAC(obj any) ([]string, error) {
	d, ok := obj.(*v1alpha1.DHCPLease)
	if !ok || d.Spec.MAC == "" {
		return nil, nil
	}
	return []string{string(d.Spec.MAC)}, nil
}

// run keeps the cache in step with the API server and retries queued
// renewals until ctx ends; it returns nil then.
func (ls *leases) run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { ls.informer.RunWithContext(ctx) })
	t := time.NewTicker(retryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			ls.retryPending(ctx)
		}
	}
}

// synced reports whether the cache holds every DHCPLease once.
func (ls *leases) synced() bool { return ls.informer.HasSynced() }

// subscribe has fn called with every lease another replica or this one
// writes, as the cache learns of it; deleted says the MAC lost it. fn runs
// on the informer's goroutine, one change at a time, and must not block.
func (ls *leases) subscribe(fn func(l inventory.Lease, deleted bool)) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.subs = append(ls.subs, fn)
}

// changed tells the subscribers what a change of one object did to its
// lease: the old MAC lost it, a new one holds it, or its expiry moved.
func (ls *leases) changed(oldObj, newObj any) {
	before, hadOld := leaseOf(oldObj)
	after, hasNew := leaseOf(newObj)
	ls.mu.Lock()
	subs := slices.Clone(ls.subs)
	ls.mu.Unlock()
	for _, fn := range subs {
		if hadOld && (!hasNew || before.MAC != after.MAC) {
			fn(before, true)
		}
		if hasNew && (!hadOld || before != after) {
			fn(after, false)
		}
	}
}

// leaseOf returns the lease of a cached object (or a deleted one's last
// state); ok is false for anything else.
func leaseOf(obj any) (inventory.Lease, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	d, ok := obj.(*v1alpha1.DHCPLease)
	if !ok {
		return inventory.Lease{}, false
	}
	l, ok, err := d.Lease()
	return l, ok && err == nil
}

// cached returns the cached object of ip, if any. It must not be
// modified.
func (ls *leases) cached(ip netip.Addr) (*v1alpha1.DHCPLease, bool) {
	obj, ok, _ := ls.informer.GetIndexer().GetByKey(ls.ns + "/" + v1alpha1.DHCPLeaseName(ip))
	if !ok {
		return nil, false
	}
	d, ok := obj.(*v1alpha1.DHCPLease)
	return d, ok
}

// ipOwner returns the MAC holding ip's lease, expired or not.
func (ls *leases) ipOwner(ip netip.Addr) (string, bool) {
	d, ok := ls.cached(ip)
	if !ok || d.Spec.MAC == "" {
		return "", false
	}
	return string(d.Spec.MAC), true
}

// Leases returns every lease in the cache, expired ones included, by
// address. Malformed objects (made by hand) are skipped and logged.
func (ls *leases) Leases() ([]inventory.Lease, error) {
	var out []inventory.Lease
	for _, d := range ls.all() {
		l, ok, err := d.Lease()
		if err != nil {
			ls.log.Debug("skipping malformed DHCPLease", "ip", d.Name, "err", err)
		}
		if ok && err == nil {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b inventory.Lease) int { return a.IP.Compare(b.IP) })
	return out, nil
}

// Declined returns every quarantine in the cache, ended ones included, by
// address.
func (ls *leases) Declined() ([]inventory.Declined, error) {
	var out []inventory.Declined
	for _, d := range ls.all() {
		if q, ok, err := d.Declined(); ok && err == nil {
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(a, b inventory.Declined) int { return a.IP.Compare(b.IP) })
	return out, nil
}

func (ls *leases) all() []*v1alpha1.DHCPLease {
	objs := ls.informer.GetIndexer().List()
	out := make([]*v1alpha1.DHCPLease, 0, len(objs))
	for _, obj := range objs {
		if d, ok := obj.(*v1alpha1.DHCPLease); ok {
			out = append(out, d)
		}
	}
	return out
}

// ofMAC returns the cached objects whose lease mac holds.
func (ls *leases) ofMAC(mac string) []*v1alpha1.DHCPLease {
	objs, _ := ls.informer.GetIndexer().ByIndex(leaseMACIndex, mac)
	out := make([]*v1alpha1.DHCPLease, 0, len(objs))
	for _, obj := range objs {
		if d, ok := obj.(*v1alpha1.DHCPLease); ok {
			out = append(out, d)
		}
	}
	return out
}
