package v1alpha1

import (
	"fmt"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rackboot/rackboot/inventory"
)

// EventFromInventory returns e as a MachineEvent, its Detail cut to at
// most MaxEventDetail bytes (on a character boundary) so that the API
// server accepts it.
func EventFromInventory(e inventory.Event) MachineEvent {
	return MachineEvent{
		Seq:    int64(e.Seq),
		Time:   metav1.NewMicroTime(e.Time),
		Kind:   string(e.Kind),
		IP:     IP(addrString(e.IP)),
		Detail: truncate(e.Detail, MaxEventDetail),
	}
}

// Inventory returns e in inventory form.
func (e MachineEvent) Inventory() (inventory.Event, error) {
	ip, err := parseAddr(string(e.IP))
	if err != nil {
		return inventory.Event{}, fmt.Errorf("ip: %q is not an IP address", e.IP)
	}
	return inventory.Event{
		Seq:    uint64(e.Seq),
		Time:   e.Time.UTC(),
		Kind:   inventory.EventKind(e.Kind),
		IP:     ip,
		Detail: e.Detail,
	}, nil
}

// AddEvent makes e the newest event of s: its LastEvent, and the last of
// its RecentEvents, which keep the newest MaxRecentEvents.
func (s *MachineStatus) AddEvent(e MachineEvent) {
	last := e
	s.LastEvent = &last
	s.RecentEvents = append(s.RecentEvents, e)
	if n := len(s.RecentEvents); n > MaxRecentEvents {
		s.RecentEvents = append([]MachineEvent(nil), s.RecentEvents[n-MaxRecentEvents:]...)
	}
}

// LeaseFromInventory returns l as a Lease; the MAC is the Machine's.
func LeaseFromInventory(l inventory.Lease) *Lease {
	return &Lease{IP: addrString(l.IP), Expiry: metav1.NewTime(l.Expiry), Hostname: l.Hostname}
}

// Inventory returns l in inventory form, as the lease of mac.
func (l *Lease) Inventory(mac string) (inventory.Lease, error) {
	ip, err := parseAddr(l.IP)
	if err != nil || !ip.Is4() {
		return inventory.Lease{}, fmt.Errorf("ip: %q is not an IPv4 address", l.IP)
	}
	return inventory.Lease{MAC: mac, IP: ip, Expiry: l.Expiry.Time, Hostname: l.Hostname}, nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
