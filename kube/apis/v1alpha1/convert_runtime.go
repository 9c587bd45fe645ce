package v1alpha1

import (
	"fmt"
	"maps"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
)

// The status fields below keep times to the microsecond, as MicroTime
// does in JSON; a round trip drops what is finer.

// MACStatusFromInventory returns st, with the boot UUID the MAC last
// reported ("" for none), as a MACStatus.
func MACStatusFromInventory(st inventory.Status, bootUUID string) MACStatus {
	out := MACStatus{
		MAC:       MAC(st.MAC),
		State:     State(st.State),
		IP:        IP(addrString(st.IP)),
		FirstSeen: microTime(st.FirstSeen),
		BootUUID:  bootUUID,
	}
	if st.LastEvent.Kind != "" {
		e := EventFromInventory(st.LastEvent)
		out.LastEvent = &e
	}
	return out
}

// Inventory returns s in inventory form, and the boot UUID it holds.
func (s MACStatus) Inventory() (inventory.Status, string, error) {
	mac, err := inventory.NormalizeMAC(string(s.MAC))
	if err != nil {
		return inventory.Status{}, "", fmt.Errorf("mac: %w", err)
	}
	ip, err := parseAddr(string(s.IP))
	if err != nil {
		return inventory.Status{}, "", fmt.Errorf("ip: %q is not an IP address", s.IP)
	}
	st := inventory.Status{MAC: mac, State: inventory.State(s.State), IP: ip}
	if s.FirstSeen != nil {
		st.FirstSeen = s.FirstSeen.UTC()
	}
	if s.LastEvent != nil {
		if st.LastEvent, err = s.LastEvent.Inventory(); err != nil {
			return inventory.Status{}, "", fmt.Errorf("lastEvent.%w", err)
		}
	}
	return st, s.BootUUID, nil
}

// StepsFromInventory returns the steps of a provisioning record, by
// name.
func StepsFromInventory(steps map[string]time.Time) []ProvisionStep {
	var out []ProvisionStep
	for _, name := range slices.Sorted(maps.Keys(steps)) {
		out = append(out, ProvisionStep{Name: name, Time: metav1.NewMicroTime(steps[name].UTC())})
	}
	return out
}

// Provision returns the provisioning record s holds: its generation (1
// when none was written) and the steps that generation took.
func (s *MachineStatus) Provision() inventory.Provision {
	p := inventory.Provision{Generation: max(uint64(s.Generation), 1)}
	for _, st := range s.Steps {
		if p.Steps == nil {
			p.Steps = map[string]time.Time{}
		}
		p.Steps[st.Name] = st.Time.UTC()
	}
	return p
}

// JobFromInventory returns j as a ReprovisionJob; the machine is the
// Machine's.
func JobFromInventory(j inventory.JobRecord) *ReprovisionJob {
	return &ReprovisionJob{
		MAC:        MAC(j.MAC),
		Attempt:    int32(j.Attempt),
		Attempts:   int32(j.Attempts),
		Generation: int64(j.Generation),
		Stage:      j.Stage,
		By:         j.By,
		Queued:     microTime(j.Queued),
		Started:    microTime(j.Started),
		After:      int64(j.After),
		Powered:    microTime(j.Powered),
		Replica:    j.Replica,
		Limit:      int32(j.Limit),
	}
}

// Inventory returns j in inventory form, as the job of the machine
// called machine.
func (j *ReprovisionJob) Inventory(machine string) inventory.JobRecord {
	return inventory.JobRecord{
		Machine:    machine,
		MAC:        string(j.MAC),
		Attempt:    int(j.Attempt),
		Attempts:   int(j.Attempts),
		Generation: uint64(j.Generation),
		Stage:      j.Stage,
		By:         j.By,
		Queued:     timeOf(j.Queued),
		Started:    timeOf(j.Started),
		After:      uint64(j.After),
		Powered:    timeOf(j.Powered),
		Replica:    j.Replica,
		Limit:      int(j.Limit),
	}
}

// microTime returns t as a MicroTime in UTC; nil for the zero time.
func microTime(t time.Time) *metav1.MicroTime {
	if t.IsZero() {
		return nil
	}
	m := metav1.NewMicroTime(t.UTC())
	return &m
}

// timeOf returns the time t holds in UTC; the zero time for nil.
func timeOf(t *metav1.MicroTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
