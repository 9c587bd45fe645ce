package provision

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

func names(stages []Stage) []string {
	var out []string
	for _, st := range stages {
		out = append(out, st.Name)
	}
	return out
}

func TestStagesFor(t *testing.T) {
	withNodeReady := append(DefaultStages(), NodeReadyStage())
	tests := []struct {
		name   string
		stages []Stage
		p      inventory.Profile
		want   []string
	}{
		{"plain", DefaultStages(), inventory.Profile{},
			[]string{"dhcp", "script-served", "kernel-fetched", "os-callback"}},
		{"ignition", DefaultStages(), inventory.Profile{Ignition: &inventory.IgnitionSettings{}},
			[]string{"dhcp", "script-served", "kernel-fetched", "ignition-served"}},
		{"ignition and node ready", withNodeReady, inventory.Profile{Ignition: &inventory.IgnitionSettings{}},
			[]string{"dhcp", "script-served", "kernel-fetched", "ignition-served", "node-ready"}},
		{"plain with node ready", withNodeReady, inventory.Profile{},
			[]string{"dhcp", "script-served", "kernel-fetched", "os-callback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, names(stagesFor(tt.stages, tt.p))); diff != "" {
				t.Errorf("stagesFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckStages(t *testing.T) {
	ok := Stage{Name: "a", Events: []inventory.EventKind{inventory.EventDHCPOffer}, Deadline: time.Second}
	with := func(f func(*Stage)) []Stage {
		st := ok
		f(&st)
		return []Stage{st}
	}
	tests := []struct {
		name   string
		stages []Stage
		want   string // "" for valid
	}{
		{"defaults", DefaultStages(), ""},
		{"node ready", append(DefaultStages(), NodeReadyStage()), ""},
		{"none", nil, "no stages"},
		{"no name", with(func(s *Stage) { s.Name = "" }), "stages[0] (): name: required"},
		{"twice", []Stage{ok, ok}, "stages[1] (a): name: used twice"},
		{"no events", with(func(s *Stage) { s.Events = nil }), "events: at least one"},
		{"zero deadline", with(func(s *Stage) { s.Deadline = 0 }), "deadline: must be above zero"},
		{"bad scope", with(func(s *Stage) { s.Scope = "flatcar" }), `scope: "flatcar" is not`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStages(tt.stages)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckStages = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWithDeadlines(t *testing.T) {
	got, err := WithDeadlines(DefaultStages(), map[string]time.Duration{
		"dhcp": time.Minute, "os-callback": time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultStages()
	want[0].Deadline, want[4].Deadline = time.Minute, time.Hour
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithDeadlines (-want +got):\n%s", diff)
	}
	if DefaultStages()[0].Deadline == time.Minute {
		t.Error("WithDeadlines changed the stages it was given")
	}
	_, err = WithDeadlines(DefaultStages(), map[string]time.Duration{"kernel": time.Minute})
	if err == nil || !strings.Contains(err.Error(), `stage "kernel": not one of dhcp, script-served`) {
		t.Errorf("WithDeadlines(kernel) = %v, want an error listing the stages", err)
	}
}
