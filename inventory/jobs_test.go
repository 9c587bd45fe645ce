package inventory

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJobs(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Jobs(); err != nil || len(got) != 0 {
		t.Fatalf("Jobs() of a new store = %v, %v, want none", got, err)
	}
	if err := s.DeleteJob("node1"); err != nil {
		t.Fatalf("DeleteJob before any PutJob = %v, want nil", err)
	}
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	a := JobRecord{Machine: "node1", MAC: "02:00:00:00:00:01", Attempt: 1, Attempts: 2,
		Generation: 3, Stage: "dhcp", By: "test", Queued: now, Started: now, After: 7,
		Powered: now.Add(time.Second)}
	b := JobRecord{Machine: "node2", MAC: "02:00:00:00:00:02", Attempt: 2, Attempts: 2,
		Generation: 1, By: "test", Queued: now, Started: now, After: 9}
	for _, j := range []JobRecord{a, b, {Machine: "node1"}, a} {
		if err := s.PutJob(j); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]JobRecord{a, b}, got); diff != "" {
		t.Errorf("Jobs() after reopening (-want +got):\n%s", diff)
	}
	if err := s.DeleteJob("node1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Jobs(); len(got) != 1 || got[0].Machine != "node2" {
		t.Errorf("Jobs() after deleting node1 = %+v, want node2 only", got)
	}
}
