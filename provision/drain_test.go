package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeDrainer answers Drain with err and logs the call in the fakeBMC's
// call log, so a test sees the order of drain and BMC.
type fakeDrainer struct {
	bmc *fakeBMC
	err error
}

func (d *fakeDrainer) Drain(ctx context.Context, machine string) error {
	d.bmc.mu.Lock()
	defer d.bmc.mu.Unlock()
	d.bmc.calls = append(d.bmc.calls, machine+" drain")
	return d.err
}

func TestDrainBeforeBMC(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     JobState
		stage    string
		calls    []string
		timeline kinds
		detail   string // in the last event's Detail
	}{
		{"drained", nil, StateDone, "",
			[]string{"node1 drain", "node1 pxe-once", "node1 cycle"},
			append(append(kinds{started, bootDev, power}, fullBoot...), done), "attempt 1"},
		{"no node", fmt.Errorf("node1: %w", ErrNoNode), StateDone, "",
			[]string{"node1 drain", "node1 pxe-once", "node1 cycle"},
			append(append(kinds{started, bootDev, power}, fullBoot...), done), "attempt 1"},
		{"drain fails", errors.New("pod default/web still there"), StateFailed, "drain",
			[]string{"node1 drain"}, kinds{started, failed},
			"failed at drain, attempt 1 of 1: drain failed: pod default/web still there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDrainer{}
			r := newRig(t, Config{Attempts: 1, Drainer: d})
			d.bmc, d.err = r.bmc, tt.err
			r.bmc.plan("node1", fullBoot)
			r.submit(t, 0, "node1")
			j := r.finished(t, "node1")
			if j.State != tt.want || j.Stage != tt.stage {
				t.Errorf("job = %s at %q (%s), want %s at %q", j.State, j.Stage, j.Error,
					tt.want, tt.stage)
			}
			if diff := cmp.Diff(tt.calls, r.bmc.callLog()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.timeline, r.kinds(t, mac1)); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
			last := tt.timeline[len(tt.timeline)-1]
			if e := r.last(t, mac1, last); !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("%s detail = %q, want it to contain %q", last, e.Detail, tt.detail)
			}
		})
	}
}
