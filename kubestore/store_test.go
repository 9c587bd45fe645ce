package kubestore

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/client-go/rest"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// startStore runs a Store of replica over ns for the rest of t and waits
// until it has synced.
func startStore(t *testing.T, cfg *rest.Config, ns, replica string) *Store {
	t.Helper()
	s, err := New(Config{Config: cfg, Namespace: ns, Replica: replica})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t0())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	if err := s.WaitSynced(sctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// storeSetup returns n stores sharing a fresh namespace of the shared
// control plane.
func storeSetup(t *testing.T, n int) []*Store {
	t.Helper()
	cp := testCluster(t)
	ns := testNamespace(t, cp.Admin)
	var out []*Store
	for i := range n {
		out = append(out, startStore(t, cp.Admin, ns, "replica-"+string(rune('a'+i))))
	}
	return out
}

var equateAddrs = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func testMachine(name string, macs ...string) inventory.Machine {
	return inventory.Machine{Name: name, MACs: macs, Profile: "flatcar",
		Labels: map[string]string{"rack": "r1"}, Source: inventory.SourceAPI}
}

// apiMachine reads the Machine called name from the API server itself.
func apiMachine(t *testing.T, s *Store, name string) *v1alpha1.Machine {
	t.Helper()
	m, err := s.getMachine(t0(), name)
	if err != nil {
		t.Fatalf("reading machine %s: %v", name, err)
	}
	return m
}

func TestDeclaredMachineSeen(t *testing.T) {
	s := storeSetup(t, 1)[0]
	changed := make(chan struct{}, 10)
	s.OnChange(func() { changed <- struct{}{} })

	// As kubectl apply would: a Machine written by someone else.
	m := v1alpha1.MachineFromInventory(testMachine("worker-1", "02:00:00:00:00:01"), v1alpha1.CredentialsSecretRef{})
	m.Namespace = s.ns
	if _, err := s.writeMachine(t0(), m, true, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("OnChange hook not called after a Machine was created")
	}
	ms, bad, err := s.StoredMachines()
	if err != nil || len(bad) > 0 {
		t.Fatalf("StoredMachines = %v, %v", bad, err)
	}
	want := []inventory.Machine{testMachine("worker-1", "02:00:00:00:00:01")}
	if diff := cmp.Diff(want, ms, equateAddrs, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("StoredMachines (-want +got):\n%s", diff)
	}
}

func TestPutDeleteStoredMachine(t *testing.T) {
	s := storeSetup(t, 1)[0]
	m := testMachine("worker-2", "02:00:00:00:00:02", "02:00:00:00:00:03")
	if err := s.PutRejection("02:00:00:00:00:03"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutStoredMachine(m); err != nil {
		t.Fatal(err)
	}
	got, err := apiMachine(t, s, "worker-2").Inventory()
	if err != nil {
		t.Fatal(err)
	}
	got.Source = inventory.SourceAPI
	if diff := cmp.Diff(m, got, equateAddrs); diff != "" {
		t.Errorf("Machine in the API server (-want +got):\n%s", diff)
	}
	if rs, _ := s.Rejections(); len(rs) != 0 {
		t.Errorf("Rejections after declaring the MAC = %v, want none", rs)
	}

	m.Labels["rack"] = "r9"
	if err := s.PutStoredMachine(m); err != nil {
		t.Fatal(err)
	}
	if ms, _, _ := s.StoredMachines(); len(ms) != 1 || ms[0].Labels["rack"] != "r9" {
		t.Errorf("StoredMachines right after an update = %+v, want rack r9", ms)
	}

	for i, want := range []bool{true, false} {
		found, err := s.DeleteStoredMachine("worker-2")
		if err != nil || found != want {
			t.Errorf("DeleteStoredMachine #%d = %v, %v; want %v, nil", i+1, found, err, want)
		}
	}
	if ms, _, _ := s.StoredMachines(); len(ms) != 0 {
		t.Errorf("StoredMachines after delete = %v, want none", ms)
	}
}

func TestRejections(t *testing.T) {
	rs := storeSetup(t, 2)
	a, b := rs[0], rs[1]
	changed := make(chan struct{}, 10)
	b.OnChange(func() { changed <- struct{}{} })
	const mac = "02:00:00:00:00:09"
	if err := a.PutRejection(mac); err != nil {
		t.Fatal(err)
	}
	first, _ := a.Rejections()
	if len(first) != 1 || first[0].MAC != mac {
		t.Fatalf("Rejections = %v, want %s", first, mac)
	}
	if err := a.PutRejection(mac); err != nil {
		t.Fatal(err)
	}
	again, _ := a.Rejections()
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("a second PutRejection changed the rejection (-first +again):\n%s", diff)
	}
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("the other replica's OnChange was not called")
	}
	waitFor(t, "the other replica to see the rejection", func() bool {
		got, _ := b.Rejections()
		return cmp.Equal(got, first)
	})
	for i, want := range []bool{true, false} {
		found, err := b.DeleteRejection(mac)
		if err != nil || found != want {
			t.Errorf("DeleteRejection #%d = %v, %v; want %v, nil", i+1, found, err, want)
		}
	}
}

func TestProfiles(t *testing.T) {
	s := storeSetup(t, 1)[0]
	p := inventory.Profile{Name: "flatcar", Kernel: "flatcar/vmlinuz", Args: "console=ttyS0"}
	obj := v1alpha1.ProfileFromInventory(p)
	obj.Namespace = s.ns
	err := s.client.Post().Namespace(s.ns).Resource("profiles").Body(obj).Do(t0()).Error()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the profile", func() bool {
		ps, bad := s.Profiles()
		return len(ps) == 1 && len(bad) == 0 && cmp.Equal(ps[0], p, cmpopts.EquateEmpty())
	})
}
