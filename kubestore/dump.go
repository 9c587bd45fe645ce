package kubestore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// Dump returns the state as this replica sees it: the Profiles and
// Machines (those that do not convert are left out), the rejections,
// the leases and quarantines from the caches, the provisioning and jobs
// from the Machines' statuses (and memory, for machines without one),
// and the timelines, boot UUIDs and address index as far as this
// replica keeps them.
func (s *Store) Dump() (inventory.Dump, error) {
	d := inventory.Dump{Kind: inventory.DumpKind, Version: inventory.DumpVersion,
		Created: s.now().UTC(), Seq: s.clock.current()}
	var err error
	d.Profiles, _ = s.Profiles()
	d.Machines, _, _ = s.StoredMachines()
	slices.SortFunc(d.Machines, func(a, b inventory.Machine) int { return strings.Compare(a.Name, b.Name) })
	if d.Rejected, err = s.Rejections(); err != nil {
		return d, err
	}
	if d.Leases, err = s.Leases(); err != nil {
		return d, err
	}
	if d.Declined, err = s.Declined(); err != nil {
		return d, err
	}
	d.Addresses = s.mem.addresses()
	d.Provisioning = s.provisioning()
	if d.Jobs, err = s.Jobs(); err != nil {
		return d, err
	}
	d.BootUUIDs = s.mem.bootUUIDs()
	d.Timelines = s.mem.timelines()
	d.AlignLeasedAddresses()
	return d, nil
}

// provisioning returns the provisioning record of every machine that has
// one: a Machine whose status has a generation, or one kept in memory.
func (s *Store) provisioning() []inventory.ProvisionRecord {
	out := s.local.records()
	for _, m := range s.cachedMachines() {
		if m.Status.Generation != 0 {
			p := m.Status.Provision()
			out = append(out, inventory.ProvisionRecord{Machine: m.Name, Provision: p})
		}
	}
	slices.SortFunc(out, func(a, b inventory.ProvisionRecord) int {
		return strings.Compare(a.Machine, b.Machine)
	})
	return out
}

// Restore writes d into the namespace, which must hold no Machine and no
// DHCPLease: otherwise it returns an error wrapping inventory.ErrNotEmpty.
// Call it after WaitSynced and before serving.
//
// Before its first write it checks all it can (see preflight): d
// itself, that the namespace is empty, and with dry runs that the API
// server takes every object, so that a missing permission or an object
// the CRDs refuse fails with nothing written. It then writes in this
// order: the Profiles (one that exists already must have the same spec),
// the Machines one by one, each created and then given its status
// (provisioning, job, per-MAC statuses, recent events), the rejections
// ConfigMap, the DHCPLeases and quarantines; the timelines and the
// address index go into this replica's memory.
//
// Unlike the embedded store's, a Restore that fails after the checks
// (the API server went away, or changed its mind) leaves what it wrote
// so far: the Profiles, the Machines before the failing one (the last
// of them perhaps without its status), and, if it got that far, the
// rejections and some of the leases; the error names the object. Such a
// namespace is not empty any more: delete its Machines and DHCPLeases
// (or the namespace) and restore again.
func (s *Store) Restore(d inventory.Dump) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("restoring: %w", err)
	}
	if err := s.checkRestore(d); err != nil {
		return fmt.Errorf("restoring: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.restoreMemory(d)
	for _, step := range []func(context.Context, inventory.Dump) error{
		s.restoreProfiles, s.restoreMachines, s.restoreRejections, s.restoreLeases,
	} {
		if err := step(ctx, d); err != nil {
			return fmt.Errorf("restoring: %w", err)
		}
	}
	return nil
}

// checkRestore checks, writing nothing, that the namespace is empty and
// that the API server will take everything d makes.
func (s *Store) checkRestore(d inventory.Dump) error {
	if err := checkDeclared(d); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.checkEmpty(ctx); err != nil {
		return err
	}
	return s.preflight(ctx, d)
}

// checkEmpty returns an error wrapping inventory.ErrNotEmpty when the
// namespace holds a Machine or a DHCPLease. It asks the API server, not
// the cache.
func (s *Store) checkEmpty(ctx context.Context) error {
	var held []string
	for _, r := range []struct {
		resource, what string
		list           interface {
			runtime.Object
			metav1.ListInterface
		}
	}{
		{"machines", "Machines", &v1alpha1.MachineList{}},
		{"dhcpleases", "DHCPLeases", &v1alpha1.DHCPLeaseList{}},
	} {
		err := s.client.Get().Namespace(s.ns).Resource(r.resource).
			VersionedParams(&metav1.ListOptions{Limit: 1}, metav1.ParameterCodec).
			Do(ctx).Into(r.list)
		if err != nil {
			return unavailable(err)
		}
		if meta.LenList(r.list) > 0 {
			held = append(held, r.what)
		}
	}
	if len(held) > 0 {
		return fmt.Errorf("%w: namespace %s holds %s",
			inventory.ErrNotEmpty, s.ns, strings.Join(held, " and "))
	}
	return nil
}

// checkDeclared refuses a dump that keeps the generation or reprovision
// of a machine it does not declare: a machine of the embedded store's
// inventory file. This store keeps provisioning in Machines only, so the
// record would be lost and the installed machine get its installer
// again; the machine must come along as a Machine.
func checkDeclared(d inventory.Dump) error {
	names := make(map[string]bool, len(d.Machines))
	for _, m := range d.Machines {
		names[m.Name] = true
	}
	for _, p := range d.Provisioning {
		if !names[p.Machine] {
			return undeclared(p.Machine, "generation")
		}
	}
	for _, j := range d.Jobs {
		if !names[j.Machine] {
			return undeclared(j.Machine, "reprovision")
		}
	}
	return nil
}

func undeclared(machine, what string) error {
	return fmt.Errorf("%w: the dump keeps the %s of machine %s but no Machine of that name: "+
		"declare it in the dump (rackboot import --inventory FILE adds the inventory file's "+
		"machines) so that its provisioning is kept", inventory.ErrInvalid, what, machine)
}

// restoreMemory takes in the timelines, boot UUIDs, address index and
// the provisioning and jobs of machines d does not declare.
func (s *Store) restoreMemory(d inventory.Dump) {
	s.clock.observe(d.Seq)
	declared := map[string]bool{}
	names := map[string]bool{}
	for _, m := range d.Machines {
		names[m.Name] = true
		for _, mac := range m.MACs {
			declared[mac] = true
		}
	}
	for _, t := range d.Timelines {
		s.mem.restore(t, declared[t.MAC])
	}
	for _, a := range d.Addresses {
		s.mem.setAddr(a.IP, a.MAC)
	}
	for _, u := range d.BootUUIDs {
		s.mem.setUUID(u.MAC, u.UUID, declared[u.MAC])
	}
	for _, p := range d.Provisioning {
		if !names[p.Machine] {
			s.local.change(p.Machine, func(cur *inventory.Provision) bool {
				*cur = p.Provision
				return true
			})
		}
	}
	for _, j := range d.Jobs {
		if !names[j.Machine] {
			s.local.putJob(j)
		}
	}
}

// restoreProfiles creates d's Profiles. One there already is left as
// it is if it says the same; otherwise restoring fails with an error
// wrapping inventory.ErrConflict.
func (s *Store) restoreProfiles(ctx context.Context, d inventory.Dump) error {
	for _, p := range d.Profiles {
		want := v1alpha1.ProfileFromInventory(p)
		want.Namespace = s.ns
		err := s.client.Post().Namespace(s.ns).Resource("profiles").Body(want).Do(ctx).Error()
		if apierrors.IsAlreadyExists(err) {
			err = s.sameProfile(ctx, want)
		}
		if err != nil {
			return fmt.Errorf("creating profile %s: %w", p.Name, unavailable(err))
		}
	}
	return nil
}

// sameProfile returns an error wrapping inventory.ErrConflict unless the
// Profile called want.Name has want's spec.
func (s *Store) sameProfile(ctx context.Context, want *v1alpha1.Profile) error {
	cur := &v1alpha1.Profile{}
	err := s.client.Get().Namespace(s.ns).Resource("profiles").Name(want.Name).Do(ctx).Into(cur)
	switch {
	case err != nil:
		return err
	case !equality.Semantic.DeepEqual(cur.Spec, want.Spec):
		return fmt.Errorf("%w: namespace %s has a profile %s that says otherwise",
			inventory.ErrConflict, s.ns, want.Name)
	}
	return nil
}

// restoreMachines creates d's Machines and writes their status.
func (s *Store) restoreMachines(ctx context.Context, d inventory.Dump) error {
	for _, m := range d.Machines {
		if err := s.PutStoredMachine(m); err != nil {
			return err
		}
		i := slices.IndexFunc(d.Provisioning, func(p inventory.ProvisionRecord) bool {
			return p.Machine == m.Name
		})
		j := slices.IndexFunc(d.Jobs, func(j inventory.JobRecord) bool { return j.Machine == m.Name })
		err := s.updateStatus(ctx, m.Name, func(cur *v1alpha1.Machine) (bool, error) {
			if i >= 0 {
				p := d.Provisioning[i].Provision
				cur.Status.Generation = int64(p.Generation)
				cur.Status.Steps = v1alpha1.StepsFromInventory(p.Steps)
			}
			if j >= 0 {
				cur.Status.Reprovision = v1alpha1.JobFromInventory(d.Jobs[j])
			}
			s.composeStatus(cur)
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("writing the status of machine %s: %w", m.Name, unavailable(err))
		}
	}
	return nil
}

// restoreRejections writes d's rejections, with their times.
func (s *Store) restoreRejections(_ context.Context, d inventory.Dump) error {
	if len(d.Rejected) == 0 {
		return nil
	}
	err := s.changeRejections(func(data map[string]string) bool {
		for _, r := range d.Rejected {
			data[rejectionKey(r.MAC)] = r.Time.UTC().Format(time.RFC3339Nano)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("writing rejections: %w", err)
	}
	return nil
}

// restoreLeases claims d's leases and quarantines.
func (s *Store) restoreLeases(_ context.Context, d inventory.Dump) error {
	for _, l := range d.Leases {
		if err := s.leases.PutLease(l); err != nil {
			return err
		}
	}
	for _, q := range d.Declined {
		if err := s.leases.PutDeclined(q.IP, q.Until); err != nil {
			return err
		}
	}
	return nil
}
