package inventory

import (
	"net"
	"strings"
)

// UnicastMAC reports whether mac, in any form NormalizeMAC accepts, can be
// a network card's own address: a 6-byte address that is neither a group
// address (the low bit of the first octet set, IEEE 802 section 8.2:
// multicast, and ff:ff:ff:ff:ff:ff, the broadcast address) nor all zeros.
// Packets and requests naming any other MAC are forged or broken, and a
// declared machine may not have one.
func UnicastMAC(mac string) bool {
	hw, err := net.ParseMAC(strings.TrimSpace(mac))
	if err != nil || len(hw) != 6 {
		return false
	}
	return hw[0]&1 == 0 && string(hw) != "\x00\x00\x00\x00\x00\x00"
}
