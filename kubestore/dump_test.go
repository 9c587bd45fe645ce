package kubestore

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// fill gives s some of every kind of state a dump holds.
func fill(t *testing.T, s *Store) {
	t.Helper()
	const declared, undeclared = "02:00:00:00:00:61", "02:00:00:00:00:62"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	putProfile(t, s, inventory.Profile{Name: "flatcar", Kernel: "flatcar/vmlinuz",
		Initrds: []string{"flatcar/initrd"}, Args: "console=ttyS0"})
	must(s.PutStoredMachine(testMachine("worker-7", declared)))
	ip1, ip2 := netip.MustParseAddr("192.0.2.61"), netip.MustParseAddr("192.0.2.62")
	for _, k := range []inventory.EventKind{inventory.EventDHCPAck, inventory.EventScriptServed} {
		_, err := s.Record(declared, inventory.Event{Kind: k, IP: ip1})
		must(err)
		_, err = s.Record(undeclared, inventory.Event{Kind: k, IP: ip2})
		must(err)
	}
	must(s.PutBootUUID(declared, "4c4c4544-0042-3510-8044-b4c04f4b4e32"))
	must(s.PutLease(inventory.Lease{MAC: undeclared, IP: ip2,
		Expiry: time.Now().Add(time.Hour).UTC().Truncate(time.Second), Hostname: "spare"}))
	must(s.PutDeclined(netip.MustParseAddr("192.0.2.70"), time.Now().Add(time.Hour).UTC().Truncate(time.Second)))
	must(s.PutRejection("02:00:00:00:00:63"))
	_, err := s.NewGeneration("worker-7")
	must(err)
	_, err = s.TakeStep("worker-7", 2, inventory.StepInstallerServed)
	must(err)
	must(s.PutJob(inventory.JobRecord{Machine: "worker-7", MAC: declared, Attempt: 1, Attempts: 2,
		Generation: 2, By: "admin", Queued: time.Now().UTC().Truncate(time.Microsecond)}))
}

// putProfile creates p as a Profile, as kubectl would, and waits until
// the cache of s holds it.
func putProfile(t *testing.T, s *Store, p inventory.Profile) {
	t.Helper()
	obj := v1alpha1.ProfileFromInventory(p)
	obj.Namespace = s.ns
	if err := s.client.Post().Namespace(s.ns).Resource("profiles").Body(obj).Do(t0()).Error(); err != nil {
		t.Fatalf("creating profile %s: %v", p.Name, err)
	}
	waitFor(t, "the profile in the cache", func() bool {
		ps, _ := s.Profiles()
		return slices.ContainsFunc(ps, func(q inventory.Profile) bool { return q.Name == p.Name })
	})
}

func TestDumpRestore(t *testing.T) {
	src := storeSetup(t, 1)[0]
	fill(t, src)
	want, err := src.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if err := want.Validate(); err != nil {
		t.Fatalf("the dump does not validate: %v", err)
	}
	if len(want.Profiles) != 1 || len(want.Machines) != 1 || len(want.Leases) != 1 || len(want.Timelines) != 2 ||
		len(want.Provisioning) != 1 || len(want.Jobs) != 1 || len(want.BootUUIDs) != 1 {
		t.Fatalf("Dump misses state: %+v", want)
	}

	cp := testCluster(t)
	dst := startStore(t, cp.Admin, testNamespace(t, cp.Admin), "restored")
	if err := dst.Restore(want); err != nil {
		t.Fatal(err)
	}
	ignore := []cmp.Option{equateAddrs, cmpopts.IgnoreFields(inventory.Dump{}, "Created"), cmpopts.EquateEmpty()}
	var diff string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		got, err := dst.Dump()
		if err != nil {
			t.Fatal(err)
		}
		if diff = cmp.Diff(want, got, ignore...); diff == "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if diff != "" {
		t.Errorf("Dump after Restore (-want +got):\n%s", diff)
	}
	if err := dst.Restore(want); !errors.Is(err, inventory.ErrNotEmpty) {
		t.Errorf("Restore into a namespace holding machines = %v, want ErrNotEmpty", err)
	}
}

// TestRestoreChecksFirst restores as a user who may create Profiles but
// not Machines: Restore fails on the permission before it writes the
// Profile it could have.
func TestRestoreChecksFirst(t *testing.T) {
	cp := testCluster(t)
	ns := testNamespace(t, cp.Admin)
	grantStore(t, cp.Admin, ns, "rackboot-import", rbacv1.PolicyRule{APIGroups: []string{"rackboot.io"},
		Resources: []string{"profiles"}, Verbs: []string{"create"}})
	s := startStore(t, nobody(cp.Admin, "rackboot-import"), ns, "cli")
	d := inventory.Dump{Kind: inventory.DumpKind, Version: inventory.DumpVersion,
		Profiles: []inventory.Profile{{Name: "flatcar", Kernel: "flatcar/vmlinuz"}},
		Machines: []inventory.Machine{testMachine("worker-9", "02:00:00:00:00:91")}}

	err := s.Restore(d)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "machines worker-9") {
		t.Errorf("Restore without the right to create machines = %v, want Forbidden naming worker-9", err)
	}
	var profiles v1alpha1.ProfileList
	admin := apiClient(t, cp.Admin)
	if err := admin.Get().Namespace(ns).Resource("profiles").Do(t0()).Into(&profiles); err != nil {
		t.Fatal(err)
	}
	if len(profiles.Items) != 0 {
		t.Errorf("Profiles after the refused Restore = %d, want none written", len(profiles.Items))
	}
}

// apiClient returns a rackboot.io client of cfg.
func apiClient(t *testing.T, cfg *rest.Config) rest.Interface {
	t.Helper()
	c, _, err := newClients(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRestoreRefusesUndeclaredProvisioning refuses, before writing, a
// dump that keeps the generation of a machine no Machine declares (one
// of an inventory file): its installed step would be lost.
func TestRestoreRefusesUndeclaredProvisioning(t *testing.T) {
	cp := testCluster(t)
	dst := startStore(t, cp.Admin, testNamespace(t, cp.Admin), "restored")
	d := inventory.Dump{Kind: inventory.DumpKind, Version: inventory.DumpVersion,
		Provisioning: []inventory.ProvisionRecord{{Machine: "file-machine",
			Provision: inventory.Provision{Generation: 3}}}}
	err := dst.Restore(d)
	if !errors.Is(err, inventory.ErrInvalid) || !strings.Contains(err.Error(), "file-machine") {
		t.Errorf("Restore of an undeclared machine's generation = %v, want ErrInvalid naming it", err)
	}
	if got, _ := dst.Provision("file-machine"); got.Generation != 1 {
		t.Errorf("Provision after the refused restore = %+v, want generation 1: nothing kept", got)
	}
}
