package inventory

import "testing"

func TestProvisionGenerations(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	p, err := s.Provision("node1")
	if err != nil || p.Generation != 1 || len(p.Steps) != 0 {
		t.Fatalf("Provision(new) = %+v, %v, want generation 1 and no steps", p, err)
	}
	steps := []struct {
		gen  uint64
		step string
		want bool
	}{
		{1, "ignition-served", true},
		{1, "ignition-served", false}, // once per generation
		{2, "ignition-served", false}, // not the current generation
		{1, "installed", true},
	}
	for _, st := range steps {
		if got, err := s.TakeStep("node1", st.gen, st.step); err != nil || got != st.want {
			t.Errorf("TakeStep(node1, %d, %s) = %v, %v, want %v", st.gen, st.step, got, err, st.want)
		}
	}
	p, err = s.NewGeneration("node1")
	if err != nil || p.Generation != 2 || len(p.Steps) != 0 {
		t.Fatalf("NewGeneration = %+v, %v, want generation 2 and no steps", p, err)
	}
	if got, _ := s.TakeStep("node1", 2, "ignition-served"); !got {
		t.Error("TakeStep in the new generation = false, want true")
	}
	s.Close()
	s = openTestStore(t, dir)
	p, err = s.Provision("node1")
	if err != nil || p.Generation != 2 || p.Steps["ignition-served"].IsZero() {
		t.Errorf("after reopen Provision = %+v, %v, want generation 2 with ignition-served", p, err)
	}
}
