package kubestore

import (
	"errors"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// TestUnreachable stops the API server under a running store: the store
// says it is degraded, keeps recording and answering from its cache,
// refuses synchronous writes with ErrUnavailable, and sends the status
// writes it queued once the API server is back.
func TestUnreachable(t *testing.T) {
	cp := testCluster(t)
	s := startStore(t, cp.Admin, testNamespace(t, cp.Admin), "replica-a")
	const mac = "02:00:00:00:00:81"
	if err := s.PutStoredMachine(testMachine("worker-8", mac)); err != nil {
		t.Fatal(err)
	}
	if h := s.Health(); h.Degraded {
		t.Fatalf("Health before the outage = %+v, want healthy", h)
	}

	cp.StopAPIServer()
	stopped := true
	t.Cleanup(func() {
		if stopped {
			if err := cp.StartAPIServer(); err != nil {
				t.Errorf("starting the API server again: %v", err)
			}
		}
	})
	waitFor(t, "the store to say it is degraded", func() bool { return s.Health().Degraded })
	if h := s.Health(); h.Reason == "" || h.Since.IsZero() {
		t.Errorf("Health while degraded = %+v, want a reason and a time", h)
	}

	e, err := s.Record(mac, inventory.Event{Kind: inventory.EventDHCPAck})
	if err != nil {
		t.Fatalf("Record while degraded = %v", err)
	}
	if st, err := s.Status(mac); err != nil || st.LastEvent != e {
		t.Errorf("Status while degraded = %+v, %v; want last event %+v", st, err, e)
	}
	if ms, _, _ := s.StoredMachines(); len(ms) != 1 {
		t.Errorf("StoredMachines while degraded = %v, want worker-8 from the cache", ms)
	}
	if p, err := s.Provision("worker-8"); err != nil || p.Generation != 1 {
		t.Errorf("Provision while degraded = %+v, %v; want generation 1", p, err)
	}
	if err := s.PutStoredMachine(testMachine("worker-9", "02:00:00:00:00:82")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("PutStoredMachine while degraded = %v, want ErrUnavailable", err)
	}
	if _, err := s.TakeStep("worker-8", 1, inventory.StepInstalled); !errors.Is(err, ErrUnavailable) {
		t.Errorf("TakeStep while degraded = %v, want ErrUnavailable", err)
	}
	waitFor(t, "the status write to be queued", func() bool { return s.Health().QueuedWrites == 1 })

	if err := cp.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	stopped = false
	waitFor(t, "the store to be healthy with nothing queued", func() bool {
		h := s.Health()
		return !h.Degraded && h.QueuedWrites == 0
	})
	waitFor(t, "the queued status write to land", func() bool {
		m := apiMachine(t, s, "worker-8")
		return m.Status.LastEvent != nil && m.Status.LastEvent.Seq == int64(e.Seq)
	})
}
