package kubestore

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rackboot/rackboot/inventory"
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
	if len(want.Machines) != 1 || len(want.Leases) != 1 || len(want.Timelines) != 2 ||
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
