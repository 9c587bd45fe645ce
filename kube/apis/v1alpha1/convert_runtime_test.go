package v1alpha1_test

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// viaJSON marshals in and unmarshals the result into a new T, as the API
// server hands it back.
func viaJSON[T any](t *testing.T, in T) T {
	t.Helper()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

var micro = time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC)

func TestMACStatusRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   inventory.Status
		uuid string
	}{
		{"full", inventory.Status{MAC: "02:00:00:00:00:01", State: inventory.StateBooting,
			IP: netip.MustParseAddr("192.0.2.21"), FirstSeen: micro,
			LastEvent: inventory.Event{Seq: 9, Time: micro, Kind: inventory.EventScriptServed}},
			"4c4c4544-0042-3510-8044-b4c04f4b4e32"},
		{"decision only", inventory.Status{MAC: "02:00:00:00:00:02",
			LastEvent: inventory.Event{Seq: 3, Time: micro, Kind: inventory.EventRejected}}, ""},
		{"empty", inventory.Status{MAC: "02:00:00:00:00:03"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := viaJSON(t, v1alpha1.MACStatusFromInventory(tc.in, tc.uuid))
			got, uuid, err := s.Inventory()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.in, got, equateAddrs); diff != "" || uuid != tc.uuid {
				t.Errorf("status through MACStatus (-want +got):\n%s\nuuid = %q, want %q", diff, uuid, tc.uuid)
			}
		})
	}
}

func TestMACStatusInventoryErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   v1alpha1.MACStatus
	}{
		{"mac", v1alpha1.MACStatus{MAC: "nope"}},
		{"ip", v1alpha1.MACStatus{MAC: "02:00:00:00:00:01", IP: "1.2.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := tc.in.Inventory(); err == nil {
				t.Errorf("Inventory(%+v) = nil error, want one", tc.in)
			}
		})
	}
}

func TestProvisionRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   inventory.Provision
	}{
		{"steps", inventory.Provision{Generation: 3, Steps: map[string]time.Time{
			inventory.StepInstallerServed: micro, inventory.StepInstalled: micro.Add(time.Minute)}}},
		{"fresh", inventory.Provision{Generation: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := viaJSON(t, v1alpha1.MachineStatus{Generation: int64(tc.in.Generation),
				Steps: v1alpha1.StepsFromInventory(tc.in.Steps)})
			if diff := cmp.Diff(tc.in, s.Provision()); diff != "" {
				t.Errorf("provision through status (-want +got):\n%s", diff)
			}
		})
	}
	if got := (&v1alpha1.MachineStatus{}).Provision(); got.Generation != 1 {
		t.Errorf("Provision of an empty status = generation %d, want 1", got.Generation)
	}
}

func TestJobRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   inventory.JobRecord
	}{
		{"running", inventory.JobRecord{Machine: "worker-1", MAC: "02:00:00:00:00:01",
			Attempt: 2, Attempts: 3, Generation: 4, Stage: "ignition-served", By: "admin",
			Queued: micro, Started: micro.Add(time.Second), After: 1764583200123456,
			Powered: micro.Add(2 * time.Second), Replica: "rackboot-7f9c", Limit: 2}},
		{"queued", inventory.JobRecord{Machine: "worker-2", Attempts: 1, By: "admin", Queued: micro}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := viaJSON(t, *v1alpha1.JobFromInventory(tc.in))
			if diff := cmp.Diff(tc.in, j.Inventory(tc.in.Machine)); diff != "" {
				t.Errorf("job through ReprovisionJob (-want +got):\n%s", diff)
			}
		})
	}
}
