package kubestore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// cacheWait bounds how long a write waits for the cache to show it.
const cacheWait = 5 * time.Second

// StoredMachines returns the machines the Machine objects declare, the
// oldest object first (by metadata.creationTimestamp, then name): the
// effective catalog takes them in that order, so when two claim one MAC
// or address the one that was there first keeps it. An object that does
// not convert is reported in bad and left out.
func (s *Store) StoredMachines() (ms []inventory.Machine, bad []error, err error) {
	for _, m := range s.machinesByAge() {
		im, err := m.Inventory()
		if err != nil {
			bad = append(bad, fmt.Errorf("machine %s/%s: %w", s.ns, m.Name, err))
			continue
		}
		im.Source = inventory.SourceAPI
		ms = append(ms, im)
	}
	return ms, bad, nil
}

// machinesByAge returns the cached Machines, the oldest first; Machines
// made in the same second go by name.
func (s *Store) machinesByAge() []*v1alpha1.Machine {
	ms := s.cachedMachines()
	slices.SortFunc(ms, func(a, b *v1alpha1.Machine) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time),
			strings.Compare(a.Name, b.Name))
	})
	return ms
}

// PutStoredMachine creates or updates the Machine called m.Name with m
// as its spec, then forgets the rejections of its MACs. A BMC whose
// credentials are a file or a variable gets the Secret "<name>-bmc"
// instead. It returns once the cache shows the change.
func (s *Store) PutStoredMachine(m inventory.Machine) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	want := v1alpha1.MachineFromInventory(m, v1alpha1.CredentialsSecretRef{Name: m.Name + "-bmc"})
	err := s.updateMachine(ctx, m.Name, true, func(cur *v1alpha1.Machine) (bool, error) {
		cur.Spec = want.Spec
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("storing machine %s: %w", m.Name, unavailable(err))
	}
	for _, mac := range m.MACs {
		if _, err := s.DeleteRejection(mac); err != nil {
			return fmt.Errorf("storing machine %s: %w", m.Name, err)
		}
	}
	return nil
}

// DeleteStoredMachine deletes the Machine called name; false means there
// was none.
func (s *Store) DeleteStoredMachine(name string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := s.client.Delete().Namespace(s.ns).Resource("machines").Name(name).Do(ctx).Error()
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting machine %s: %w", name, unavailable(err))
	}
	s.waitCache(ctx, func() bool { _, ok := s.cachedMachine(name); return !ok })
	return true, nil
}

// updateMachine applies change to the Machine called name, as the cache
// holds it, and writes it with its resourceVersion (creating it when
// create is set and there is none), reading it again and retrying on a
// conflict. change says whether to write. It returns once the cache
// holds what was written.
func (s *Store) updateMachine(ctx context.Context, name string, create bool,
	change func(*v1alpha1.Machine) (bool, error)) error {
	return s.writeLoop(ctx, name, create, false, change)
}

// updateStatus is updateMachine for the status subresource.
func (s *Store) updateStatus(ctx context.Context, name string,
	change func(*v1alpha1.Machine) (bool, error)) error {
	return s.writeLoop(ctx, name, false, true, func(m *v1alpha1.Machine) (bool, error) {
		write, err := change(m)
		if err != nil || !write {
			return write, err
		}
		// The events recorded so far travel with the change: a job
		// saved just before this replica dies has its power cycle on
		// the Machine, not only in this replica's memory.
		s.composeStatus(m)
		return true, nil
	})
}

func (s *Store) writeLoop(ctx context.Context, name string, create, status bool,
	change func(*v1alpha1.Machine) (bool, error)) error {
	cur, ok := s.cachedMachine(name)
	for try := 0; ; try++ {
		var next *v1alpha1.Machine
		switch {
		case ok:
			next = cur.DeepCopy()
		case create:
			next = &v1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns}}
		default:
			return fmt.Errorf("machine %s: %w", name, inventory.ErrNotFound)
		}
		write, err := change(next)
		if err != nil || !write {
			return err
		}
		out, err := s.writeMachine(ctx, next, !ok, status)
		if err == nil {
			s.waitMachine(ctx, name, out.ResourceVersion)
			return nil
		}
		if try == maxTries || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			return err
		}
		backoff(ctx, try)
		cur, err = s.getMachine(ctx, name)
		if ok = err == nil; err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
}

// waitMachine waits until the cache holds the Machine called name at
// resourceVersion rv or later, or a while has passed.
func (s *Store) waitMachine(ctx context.Context, name, rv string) {
	s.waitCache(ctx, func() bool {
		m, ok := s.cachedMachine(name)
		return ok && newerOrSame(m.ResourceVersion, rv)
	})
}

// waitCache polls done until it holds, cacheWait passes or ctx ends.
func (s *Store) waitCache(ctx context.Context, done func() bool) {
	ctx, cancel := context.WithTimeout(ctx, cacheWait)
	defer cancel()
	for !done() {
		if !sleep(ctx, 5*time.Millisecond) {
			return
		}
	}
}

// Profiles returns the profiles the Profile objects declare, by name,
// and an error for each object that does not convert.
func (s *Store) Profiles() ([]inventory.Profile, []error) {
	var out []inventory.Profile
	var bad []error
	for _, o := range s.inf.profiles.GetStore().List() {
		p, ok := o.(*v1alpha1.Profile)
		if !ok {
			continue
		}
		ip, err := p.Inventory()
		if err != nil {
			bad = append(bad, fmt.Errorf("profile %s/%s: %w", s.ns, p.Name, err))
			continue
		}
		out = append(out, ip)
	}
	slices.SortFunc(out, func(a, b inventory.Profile) int { return strings.Compare(a.Name, b.Name) })
	return out, bad
}
