package dhcp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// BenchmarkHandleDiscoverRequest measures one PXE client's DISCOVER and
// REQUEST in authoritative mode against a real store: classification, an
// address from a large pool, the durable lease and two timeline events.
// "parallel" shows concurrent packets sharing store commits.
func BenchmarkHandleDiscoverRequest(b *testing.B) {
	cfg := testConfig(ModeAuthoritative)
	cfg.ServerIP = netip.MustParseAddr("10.0.0.1")
	cfg.Pools = []Pool{{
		Subnet: netip.MustParsePrefix("10.0.0.0/14"),
		Start:  netip.MustParseAddr("10.0.0.10"),
		End:    netip.MustParseAddr("10.3.255.250"),
	}}
	var next atomic.Uint32
	exchange := func(e *env) bool {
		id := next.Add(1)
		hw := net.HardwareAddr{2, 1, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(hw[2:], id)
		d := msg(discoverT, 0, pxeX64EFI...)
		d.ClientHWAddr = hw
		r, ok := e.srv.Handle(d.ToBytes(), clientSrc, PortServer)
		if !ok {
			b.Error("no OFFER")
			return false
		}
		q := msg(requestT, 0, want(r.Packet.YourIPAddr.String()), serverID("10.0.0.1"))
		q.ClientHWAddr = hw
		if r, ok = e.srv.Handle(q.ToBytes(), clientSrc, PortServer); !ok || r.Packet.MessageType() != dhcpv4.MessageTypeAck {
			b.Error("no ACK")
			return false
		}
		return true
	}
	b.Run("serial", func(b *testing.B) {
		e := newEnv(b, cfg)
		for b.Loop() {
			if !exchange(e) {
				return
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		e := newEnv(b, cfg)
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() && exchange(e) {
			}
		})
	})
}
