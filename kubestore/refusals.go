package kubestore

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
)

// listRefusal is the API server's refusal to list or watch one resource.
type listRefusal struct {
	err error
	// rv is the informer's last synced resourceVersion when it was
	// refused: once that moves, a list went through again.
	rv string
}

// watched is an informer and the resource it lists, in words.
type watched struct {
	what string // "machines"
	inf  cache.SharedIndexInformer
}

// watchedAll returns every informer of s, in the order Health names
// their refusals.
func (s *Store) watchedAll() []watched {
	return []watched{
		{"machines", s.inf.machines}, {"profiles", s.inf.profiles},
		{"configmaps", s.inf.rejections}, {"dhcpleases", s.leases.informer},
	}
}

// followRefusals has the informers of s report the API server's
// refusals to health, so that a replica without the right to list its
// namespace says so instead of waiting for its caches in silence.
func (s *Store) followRefusals() {
	for _, w := range s.watchedAll() {
		err := w.inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
			cache.DefaultWatchErrorHandler(ctx, r, err)
			if refusedList(err) && s.health.refuseList(w.what, err, w.inf.LastSyncResourceVersion()) {
				s.log.Warn("kubestore: the api server refuses to list "+w.what, "err", err)
			}
		})
		if err != nil { // only once the informer has started
			s.log.Error("kubestore: following refusals", "err", err)
		}
	}
}

// refusedList reports whether err, from a list or watch, is the API
// server's refusal (403, 401, 404 for a missing CRD, 400) rather than an
// outage, which the probe reports, or the routine end of a watch.
func refusedList(err error) bool {
	var st apierrors.APIStatus
	return errors.As(err, &st) && !isUnavailable(err) && !apierrors.IsResourceExpired(err) &&
		!apierrors.IsGone(err) && !apierrors.IsInternalError(err)
}

// clearRefusals forgets the refusals of the informers that listed again
// since.
func (s *Store) clearRefusals() {
	for _, w := range s.watchedAll() {
		s.health.clearList(w.what, w.inf.LastSyncResourceVersion())
	}
}

// refusalReasonLocked says in words why the first refused resource of
// namespace ns is not listed; "" when none is. h.mu must be held.
func (h *health) refusalReasonLocked(ns string) string {
	for _, what := range []string{"machines", "profiles", "configmaps", "dhcpleases"} {
		if r, ok := h.lists[what]; ok {
			return fmt.Sprintf("kubernetes api server refuses to list %s in namespace %s: %s",
				what, ns, plain(r.err))
		}
	}
	return ""
}
