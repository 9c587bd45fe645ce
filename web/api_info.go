package web

import (
	"net/netip"
	"strings"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

// What a machine's timeline tells beyond its status: the power state the
// last BMC operation read, and what the machine showed of itself in its
// newest DHCP offer (see package dhcp: "client_arch=", "vendor=",
// "relay=", "circuit_id=" and "remote_id=" words in the offer's detail).
// Details are text meant for people, so both are read defensively: a word
// counts only in the exact form its writer gives it.

// enrich fills in what events, the machine's timeline oldest first, tell.
func (s *Server) enrich(info *MachineInfo, events []inventory.Event) {
	info.Power = lastPower(events)
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Kind == inventory.EventDHCPOffer && info.readOffer(e.Detail) {
			return
		}
	}
}

// lastPower returns the power state read by the newest bmc-power event
// that read one. A BMC operation's detail ends in "; power <state>" when
// it read the state; a failed operation's error text, which comes from
// the BMC, is not trusted to say it.
func lastPower(events []inventory.Event) bmc.PowerState {
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Kind != inventory.EventBMCPower || strings.Contains(e.Detail, ": failed in ") {
			continue
		}
		at := strings.LastIndex(e.Detail, "; power ")
		if at < 0 {
			continue
		}
		switch st := bmc.PowerState(e.Detail[at+len("; power "):]); st {
		case bmc.PowerOn, bmc.PowerOff, bmc.PowerPoweringOn, bmc.PowerPoweringOff:
			return st
		case bmc.PowerUnknown:
			return ""
		}
	}
	return ""
}

// readOffer takes the client details of one offer's detail; false when it
// has none.
func (mi *MachineInfo) readOffer(detail string) bool {
	var found bool
	var relay Relay
	for word := range strings.FieldsSeq(detail) {
		key, v, ok := strings.Cut(word, "=")
		if !ok || v == "" {
			continue
		}
		switch key {
		case "client_arch":
			mi.ArchSeen, found = v, true
		case "vendor":
			mi.VendorClass, found = v, true
		case "relay":
			relay.GIAddr, _ = netip.ParseAddr(v)
		case "circuit_id":
			relay.CircuitID = v
		case "remote_id":
			relay.RemoteID = v
		}
	}
	if relay != (Relay{}) {
		mi.Relay, found = &relay, true
	}
	return found
}
