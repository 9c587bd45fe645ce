package bmc

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rackboot/rackboot/internal/redfishsim"
)

// operations runs status, on, pxe-once and a refused status against the
// Redfish emulator through a Controller counting into m.
func operations(t *testing.T, m *Metrics) {
	r := newRedfishRig(t, redfishsim.PowerOff)
	r.ctl.cfg.Metrics = m
	ctx := context.Background()
	for _, a := range []Action{ActionStatus, ActionOn, ActionStatus} {
		if _, err := r.ctl.Power(ctx, r.m, a, "test"); err != nil {
			t.Fatalf("Power(%s) = %v", a, err)
		}
	}
	if _, err := r.ctl.PXEOnce(ctx, r.m, "test"); err != nil {
		t.Fatalf("PXEOnce() = %v", err)
	}
	r.sim.SetFault(redfishsim.FaultUnauthorized, true)
	if _, err := r.ctl.Power(ctx, r.m, ActionStatus, "test"); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Power(status) with a 401 = %v, want ErrUnauthorized", err)
	}
}

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	operations(t, NewMetrics(reg))
	want := `
# HELP rackboot_bmc_calls_total BMC operations run, by operation and result (ok or the kind of failure).
# TYPE rackboot_bmc_calls_total counter
rackboot_bmc_calls_total{operation="on",result="ok"} 1
rackboot_bmc_calls_total{operation="pxe-once",result="ok"} 1
rackboot_bmc_calls_total{operation="status",result="ok"} 2
rackboot_bmc_calls_total{operation="status",result="unauthorized"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rackboot_bmc_calls_total"); err != nil {
		t.Error(err)
	}
	got := sampleCounts(t, reg, "rackboot_bmc_call_duration_seconds")
	want2 := map[string]uint64{"status": 3, "on": 1, "pxe-once": 1}
	if diff := cmp.Diff(want2, got); diff != "" {
		t.Errorf("rackboot_bmc_call_duration_seconds sample counts (-want +got):\n%s", diff)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint() = %v, %v; want no problems", problems, err)
	}
}

// sampleCounts returns the number of observations of histogram name by
// its operation label.
func sampleCounts(t *testing.T, g prometheus.Gatherer, name string) map[string]uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
		}
	}
	return out
}

// TestMetricsNil runs the same operations without metrics.
func TestMetricsNil(t *testing.T) {
	operations(t, nil)
	var m *Metrics
	m.observe("status", 0, nil)
}

func TestResult(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{&opError{kind: ErrTimeout, msg: "n1: timed out"}, "timeout"},
		{&opError{kind: ErrNotKept, msg: "n1: not kept"}, "not_kept"},
		{&opError{msg: "n1: the bmc said no"}, "error"},
	}
	for _, tc := range tests {
		if got := result(tc.err); got != tc.want {
			t.Errorf("result(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
