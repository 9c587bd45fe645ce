package kubestore

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/rackboot/rackboot/inventory"
)

// queue keeps l for run to write once the API server answers again; a
// later renewal of the same address replaces it.
func (ls *leases) queue(l inventory.Lease) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pending[l.IP] = l
}

// retryPending writes the queued renewals. One that another MAC's lease
// overtook meanwhile is dropped: the API server's word wins.
func (ls *leases) retryPending(ctx context.Context) {
	ls.mu.Lock()
	todo := slices.Collect(maps.Values(ls.pending))
	ls.mu.Unlock()
	for _, l := range todo {
		wctx, cancel := context.WithTimeout(ctx, leaseWriteTimeout)
		err := ls.claim(wctx, l)
		cancel()
		if err != nil && retryLater(err) {
			return // still down or not ready; try again at the next tick
		}
		ls.mu.Lock()
		if ls.pending[l.IP] == l {
			delete(ls.pending, l.IP)
		}
		ls.mu.Unlock()
		var lc *inventory.LeaseConflict
		switch {
		case errors.As(err, &lc):
			ls.log.Warn("queued lease renewal lost the address", "mac", l.MAC, "ip", l.IP, "err", err)
		case err != nil:
			ls.log.Warn("storing queued lease renewal", "mac", l.MAC, "ip", l.IP, "err", err)
		default:
			ls.log.Info("queued lease renewal stored", "mac", l.MAC, "ip", l.IP)
		}
	}
}
