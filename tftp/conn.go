package tftp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/ipv4"
)

// listenUDP opens a UDP socket on addr, tied to the interface iface when
// iface is not empty.
func listenUDP(ctx context.Context, network, addr, iface string) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: bindToDevice(iface)}
	pc, err := lc.ListenPacket(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// udpNetwork returns "udp6" when the host of addr is an IPv6 literal and
// "udp4" otherwise: network boot firmware speaks TFTP over IPv4, and an
// IPv4 socket lets the server learn each request's destination address.
func udpNetwork(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil && strings.Contains(host, ":") {
		return "udp6"
	}
	return "udp4"
}

// requestConn is the listening socket of a Server.
type requestConn struct {
	c *net.UDPConn
	// p4 reads the destination of each request (IP_PKTINFO) when the
	// socket listens on the IPv4 wildcard address; nil otherwise.
	p4    *ipv4.PacketConn
	local netip.Addr // the socket's own address, maybe unspecified
}

// newRequestConn wraps c. When c listens on every address, it asks for
// the destination of each datagram, so that each transfer can answer from
// the address the client wrote to (RFC 1350 section 4: the client expects
// replies from the server it asked).
//
// TODO(#2): learn the destination on IPv6 too (IPV6_PKTINFO); a wildcard
// IPv6 listener answers from the address the kernel picks.
func newRequestConn(c *net.UDPConn) *requestConn {
	local := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	rc := &requestConn{c: c, local: local}
	if local.Is4() && local.IsUnspecified() {
		p := ipv4.NewPacketConn(c)
		if p.SetControlMessage(ipv4.FlagDst, true) == nil {
			rc.p4 = p
		}
	}
	return rc
}

// read reads one datagram into b and returns its length, its source and
// the local address it was sent to.
func (rc *requestConn) read(b []byte) (int, netip.AddrPort, netip.Addr, error) {
	if rc.p4 == nil {
		n, from, err := rc.c.ReadFromUDPAddrPort(b)
		return n, unmap(from), rc.local, err
	}
	n, cm, src, err := rc.p4.ReadFrom(b)
	if err != nil {
		return 0, netip.AddrPort{}, rc.local, err
	}
	ua, ok := src.(*net.UDPAddr)
	if !ok {
		err = fmt.Errorf("reading request: source %v is not UDP", src)
		return 0, netip.AddrPort{}, rc.local, err
	}
	return n, unmap(ua.AddrPort()), rc.destination(cm), nil
}

// destination returns the unicast address a request was sent to, or the
// socket's own address when cm does not tell.
func (rc *requestConn) destination(cm *ipv4.ControlMessage) netip.Addr {
	if cm == nil {
		return rc.local
	}
	a, ok := netip.AddrFromSlice(cm.Dst)
	a = a.Unmap()
	if !ok || !a.IsGlobalUnicast() && !a.IsLoopback() {
		return rc.local
	}
	return a
}

// write sends b to the client at to.
func (rc *requestConn) write(b []byte, to netip.AddrPort) error {
	_, err := rc.c.WriteToUDPAddrPort(b, to)
	return err
}

// unmap turns an IPv4-mapped IPv6 address into plain IPv4.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
