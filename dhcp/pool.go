package dhcp

import (
	"encoding/binary"
	"net"
	"net/netip"
)

var (
	zeroIP      = netip.IPv4Unspecified()
	broadcastIP = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// lastAddr returns the highest address of p, its broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	bits := p.Bits()
	for i := range a {
		keep := min(max(bits-8*i, 0), 8)
		a[i] |= byte(0xff >> keep)
	}
	return netip.AddrFrom4(a)
}

// inRange reports whether ip lies in the pool's dynamic range.
func (p *Pool) inRange(ip netip.Addr) bool {
	return ip.Is4() && !ip.Less(p.Start) && !p.End.Less(ip)
}

// host reports whether ip may be given to a client of p at all: inside the
// subnet and neither its network, broadcast nor router address.
func (p *Pool) host(ip netip.Addr) bool {
	return p.Subnet.Contains(ip) && ip != p.Subnet.Addr() &&
		ip != lastAddr(p.Subnet) && ip != p.Router
}

// next returns the address after ip in the dynamic range, wrapping to Start.
func (p *Pool) next(ip netip.Addr) netip.Addr {
	n := ip.Next()
	if !p.inRange(n) {
		return p.Start
	}
	return n
}

// seeded returns the address of the dynamic range that seed lands on:
// Start plus seed modulo the range's size.
func (p *Pool) seeded(seed uint64) netip.Addr {
	s, e := p.Start.As4(), p.End.As4()
	lo, hi := binary.BigEndian.Uint32(s[:]), binary.BigEndian.Uint32(e[:])
	if hi < lo {
		return p.Start
	}
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], lo+uint32(seed%(uint64(hi-lo)+1)))
	return netip.AddrFrom4(out)
}

// mask returns the subnet mask for option 1 (RFC 2132 section 3.3).
func (p *Pool) mask() net.IPMask {
	return net.CIDRMask(p.Subnet.Bits(), 32)
}

// poolHolding returns the index of the pool whose subnet holds ip, or -1.
func poolHolding(pools []Pool, ip netip.Addr) int {
	for i := range pools {
		if pools[i].Subnet.Contains(ip) {
			return i
		}
	}
	return -1
}

// toIP converts a netip.Addr to the 4-byte net.IP dhcpv4 expects; the zero
// Addr becomes 0.0.0.0.
func toIP(a netip.Addr) net.IP {
	if !a.IsValid() {
		a = zeroIP
	}
	b := a.Unmap().As4()
	return net.IP(b[:])
}

// fromIP converts a packet's IPv4 field; anything but 4 bytes (or an
// IPv4-mapped 16) becomes the zero Addr.
func fromIP(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	a = a.Unmap()
	if !a.Is4() || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}
