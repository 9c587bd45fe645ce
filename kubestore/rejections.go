package kubestore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
)

// rejectionKey is the ConfigMap key of mac: its bytes joined by dashes,
// as keys may not hold colons.
func rejectionKey(mac string) string { return strings.ReplaceAll(mac, ":", "-") }

// PutRejection stores the rejection of mac, keeping the time of an
// earlier one.
func (s *Store) PutRejection(mac string) error {
	now := s.now().UTC().Format(time.RFC3339Nano)
	err := s.changeRejections(func(data map[string]string) bool {
		if _, ok := data[rejectionKey(mac)]; ok {
			return false
		}
		data[rejectionKey(mac)] = now
		return true
	})
	if err != nil {
		return fmt.Errorf("storing the rejection of %s: %w", mac, err)
	}
	return nil
}

// DeleteRejection forgets the rejection of mac; false means there was
// none.
func (s *Store) DeleteRejection(mac string) (bool, error) {
	var found bool
	err := s.changeRejections(func(data map[string]string) bool {
		_, found = data[rejectionKey(mac)]
		delete(data, rejectionKey(mac))
		return found
	})
	if err != nil {
		return false, fmt.Errorf("deleting the rejection of %s: %w", mac, err)
	}
	return found, nil
}

// Rejections returns every rejected MAC, by MAC. A key or time that does
// not parse is left out.
func (s *Store) Rejections() ([]inventory.Rejection, error) {
	cm, ok := s.cachedRejections()
	if !ok {
		return nil, nil
	}
	var out []inventory.Rejection
	for k, v := range cm.Data {
		mac, err := inventory.NormalizeMAC(k)
		t, terr := time.Parse(time.RFC3339, v)
		if err != nil || terr != nil {
			s.log.Debug("kubestore: bad rejection", "mac", k, "err", fmt.Sprint(err, terr))
			continue
		}
		out = append(out, inventory.Rejection{MAC: mac, Time: t.UTC()})
	}
	slices.SortFunc(out, func(a, b inventory.Rejection) int { return strings.Compare(a.MAC, b.MAC) })
	return out, nil
}

// changeRejections applies change to the rejections ConfigMap's data and
// writes it with the resourceVersion read, creating the ConfigMap when
// there is none and retrying on a conflict. change says whether to
// write. It returns once the cache holds what was written.
func (s *Store) changeRejections(change func(map[string]string) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	cms := s.core.CoreV1().ConfigMaps(s.ns)
	cur, ok := s.cachedRejections()
	for try := 0; ; try++ {
		next := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: rejectionsName, Namespace: s.ns}}
		if ok {
			next = cur.DeepCopy()
		}
		if next.Data == nil {
			next.Data = map[string]string{}
		}
		if !change(next.Data) {
			return nil
		}
		var out *corev1.ConfigMap
		var err error
		if ok {
			out, err = cms.Update(ctx, next, metav1.UpdateOptions{})
		} else {
			out, err = cms.Create(ctx, next, metav1.CreateOptions{})
		}
		if err == nil {
			s.waitCache(ctx, func() bool {
				cm, ok := s.cachedRejections()
				return ok && newerOrSame(cm.ResourceVersion, out.ResourceVersion)
			})
			return nil
		}
		if try == maxTries || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			return unavailable(err)
		}
		backoff(ctx, try)
		cur, err = cms.Get(ctx, rejectionsName, metav1.GetOptions{})
		if ok = err == nil; err != nil && !apierrors.IsNotFound(err) {
			return unavailable(err)
		}
	}
}
