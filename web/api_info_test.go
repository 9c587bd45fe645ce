package web

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

func TestLastPower(t *testing.T) {
	power := func(detail string) inventory.Event {
		return inventory.Event{Kind: inventory.EventBMCPower, Detail: detail}
	}
	tests := []struct {
		name   string
		events []inventory.Event
		want   bmc.PowerState
	}{
		{"none", nil, ""},
		{"status", []inventory.Event{power("by alice: status via redfish: ok in 0.2s; power on")}, bmc.PowerOn},
		{"newest wins", []inventory.Event{
			power("by alice: status via redfish: ok in 0.2s; power on"),
			power("by alice: off via redfish: ok in 3s: soft off; power off"),
		}, bmc.PowerOff},
		{"not read", []inventory.Event{
			power("by alice: status via ipmi: ok in 0.2s; power powering-on"),
			power("by alice: reset via ipmi: ok in 0.1s: reset requested"),
		}, bmc.PowerPoweringOn},
		{"failed skipped", []inventory.Event{
			power("by alice: status via ipmi: ok in 0.2s; power on"),
			power("by alice: off via ipmi: failed in 5s: bmc says; power off"),
		}, bmc.PowerOn},
		{"unknown", []inventory.Event{
			power("by alice: status via ipmi: ok in 0.2s; power on"),
			power("by alice: status via ipmi: ok in 0.2s; power unknown"),
		}, ""},
		{"odd words", []inventory.Event{power("by x; power on: status via ipmi: ok in 0.2s; power sideways")}, ""},
		{"other kinds", []inventory.Event{{Kind: inventory.EventError, Detail: "x; power on"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastPower(tt.events); got != tt.want {
				t.Errorf("lastPower = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMachineShowsWhatDHCPSaw(t *testing.T) {
	e := newEnv(t)
	record := func(mac string, kind inventory.EventKind, detail string) {
		t.Helper()
		if _, err := e.inv.Record(mac, inventory.Event{Kind: kind, Detail: detail}); err != nil {
			t.Fatal(err)
		}
	}
	record(macNew, inventory.EventDHCPOffer, "arch=x64-efi file=ipxe.efi client_arch=x64-efi "+
		"vendor=PXEClient:Arch:00007:UNDI:003000 relay=198.51.100.1 circuit_id=sw1-p7 remote_id=0xbeef")
	record(macNew, inventory.EventDHCPAck, "arch=x64-efi file=ipxe.efi")
	record(mac1, inventory.EventDHCPOffer, "arch=bios file=undionly.kpxe client_arch=bios vendor=PXEClient:Arch:00000:UNDI:002001")
	record(mac1, inventory.EventDHCPOffer, "arch=bios file=http://x/boot.ipxe client_arch=bios vendor=iPXE-bios")
	record(mac1, inventory.EventBMCPower, "by alice: on via ipmi: ok in 1s: power on requested; power on")

	got := decode[MachineInfo](t, e.get(t, "/api/v1/machines/"+macNew).Body.Bytes())
	want := &Relay{CircuitID: "sw1-p7", RemoteID: "0xbeef", GIAddr: netip.MustParseAddr("198.51.100.1")}
	if got.ArchSeen != "x64-efi" || got.VendorClass != "PXEClient:Arch:00007:UNDI:003000" ||
		cmp.Diff(want, got.Relay, ignoreTimes) != "" || got.Power != "" {
		t.Errorf("GET discovered machine = %+v, relay %+v; want arch, vendor class and relay", got, got.Relay)
	}
	page := decode[MachineList](t, e.get(t, "/api/v1/machines?q=node1").Body.Bytes())
	if len(page.Items) != 1 {
		t.Fatalf("GET ?q=node1 = %+v", page)
	}
	n1 := page.Items[0]
	if n1.Power != bmc.PowerOn || n1.VendorClass != "iPXE-bios" || n1.ArchSeen != "bios" || n1.Relay != nil {
		t.Errorf("listed node1 = power %q, vendor %q, arch %q, relay %v; want on, the newest offer's, no relay",
			n1.Power, n1.VendorClass, n1.ArchSeen, n1.Relay)
	}
}
