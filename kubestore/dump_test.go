package kubestore

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
	_, err = s.TakeStep("file-machine", 1, inventory.StepInstallerServed)
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
		len(want.Provisioning) != 2 || len(want.Jobs) != 1 || len(want.BootUUIDs) != 1 {
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
