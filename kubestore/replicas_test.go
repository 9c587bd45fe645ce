package kubestore

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rackboot/rackboot/inventory"
)

func TestReplicasShareTimelines(t *testing.T) {
	rs := storeSetup(t, 2)
	a, b := rs[0], rs[1]
	const mac = "02:00:00:00:00:31"
	if err := a.PutStoredMachine(testMachine("worker-4", mac)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to see the machine", func() bool { _, ok := b.index.machine(mac); return ok })
	w := b.Watch(100)
	defer w.Close()

	ea, _ := a.Record(mac, inventory.Event{Kind: inventory.EventDHCPDiscover})
	eb, _ := b.Record(mac, inventory.Event{Kind: inventory.EventDHCPAck})
	want := []inventory.Event{ea, eb}
	for name, s := range map[string]*Store{"a": a, "b": b} {
		waitFor(t, name+" to hold both events", func() bool {
			tl, _ := s.Timeline(mac)
			return gocmp.Equal(tl, want, equateAddrs)
		})
	}
	var got []inventory.Event
	for len(got) < 2 {
		select {
		case n := <-w.C():
			got = append(got, n.Event)
		case <-time.After(30 * time.Second):
			t.Fatalf("b's watcher got %v, want a's and its own event", got)
		}
	}
	slices.SortFunc(got, func(x, y inventory.Event) int { return cmp.Compare(x.Seq, y.Seq) })
	if diff := gocmp.Diff(want, got, equateAddrs); diff != "" {
		t.Errorf("b's watcher (-want +got):\n%s", diff)
	}
	waitFor(t, "a's status write to merge b's", func() bool {
		m := apiMachine(t, a, "worker-4")
		return len(m.Status.RecentEvents) == 2
	})
}

func TestReplicasTakeStepOnce(t *testing.T) {
	rs := storeSetup(t, 2)
	if err := rs[0].PutStoredMachine(testMachine("worker-5", "02:00:00:00:00:41")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to see the machine", func() bool { _, ok := rs[1].cachedMachine("worker-5"); return ok })
	for i := range 5 {
		step := fmt.Sprintf("step-%d", i)
		var wg sync.WaitGroup
		taken := make([]bool, len(rs))
		errs := make([]error, len(rs))
		for j, s := range rs {
			wg.Go(func() { taken[j], errs[j] = s.TakeStep("worker-5", 1, step) })
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil || taken[0] == taken[1] {
			t.Errorf("TakeStep(%s) on both replicas = %v %v, %v %v; want one true", step,
				taken[0], errs[0], taken[1], errs[1])
		}
	}
	var wg sync.WaitGroup
	gens := make([]uint64, len(rs))
	for j, s := range rs {
		wg.Go(func() {
			p, err := s.NewGeneration("worker-5")
			if err != nil {
				t.Error(err)
			}
			gens[j] = p.Generation
		})
	}
	wg.Wait()
	slices.Sort(gens)
	if gens[0] != 2 || gens[1] != 3 {
		t.Errorf("NewGeneration on both replicas = %v, want 2 and 3", gens)
	}
	p, _ := rs[0].Provision("worker-5")
	if p.Generation != 3 || len(p.Steps) != 0 {
		t.Errorf("Provision = %+v, want generation 3 and no steps", p)
	}
	if ok, err := rs[0].TakeStep("worker-5", 2, inventory.StepInstalled); ok || err != nil {
		t.Errorf("TakeStep of an old generation = %v, %v; want false, nil", ok, err)
	}
}

func TestJobsRoundTrip(t *testing.T) {
	rs := storeSetup(t, 2)
	if err := rs[0].PutStoredMachine(testMachine("worker-6", "02:00:00:00:00:51")); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	jobs := []inventory.JobRecord{
		{Machine: "worker-6", MAC: "02:00:00:00:00:51", Attempt: 1, Attempts: 3, Generation: 2,
			Stage: "booting", By: "admin", Queued: now, Started: now.Add(time.Second), After: 42,
			Powered: now.Add(2 * time.Second)},
		// A machine of the inventory file: no Machine object.
		{Machine: "file-machine", Attempts: 1, By: "admin", Queued: now},
	}
	for _, j := range jobs {
		if err := rs[0].PutJob(j); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := rs[0].Jobs()
	if diff := gocmp.Diff(jobs[1:], got[:1]); diff != "" || len(got) != 2 {
		t.Errorf("Jobs (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(jobs[:1], got[1:]); diff != "" {
		t.Errorf("Jobs (-want +got):\n%s", diff)
	}
	waitFor(t, "the other replica to see the job", func() bool {
		other, _ := rs[1].Jobs()
		return gocmp.Equal(other, jobs[:1])
	})
	for _, j := range jobs {
		if err := rs[0].DeleteJob(j.Machine); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := rs[0].Jobs(); len(got) != 0 {
		t.Errorf("Jobs after DeleteJob = %v, want none", got)
	}
}

// TestJobCarriesEvents saves the events recorded before a job with the
// job itself: a replica that dies right after saving it leaves its power
// cycle on the Machine, not only in its memory.
func TestJobCarriesEvents(t *testing.T) {
	rs := storeSetup(t, 1)
	const mac = "02:00:00:00:00:61"
	if err := rs[0].PutStoredMachine(testMachine("worker-7", mac)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []inventory.EventKind{inventory.EventProvisionStarted, inventory.EventBMCPower} {
		if _, err := rs[0].Record(mac, inventory.Event{Kind: k}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs[0].PutJob(inventory.JobRecord{Machine: "worker-7", MAC: mac, Attempt: 1,
		Attempts: 1, By: "admin", Queued: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Read the Machine from the API server at once, before the debounced
	// status write could have run.
	m, err := rs[0].getMachine(t.Context(), "worker-7")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range m.Status.RecentEvents {
		kinds = append(kinds, e.Kind)
	}
	want := []string{string(inventory.EventProvisionStarted), string(inventory.EventBMCPower)}
	if m.Status.Reprovision == nil || !slices.Equal(kinds, want) {
		t.Errorf("Machine status right after PutJob: job %v, events %q; want the job and events %q",
			m.Status.Reprovision, kinds, want)
	}
}
