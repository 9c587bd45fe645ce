package dhcp

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/rackboot/rackboot/inventory"
)

// UDP ports the server answers on.
const (
	PortServer = 67   // DHCP server port (RFC 2131 section 4.1)
	PortClient = 68   // DHCP client port
	PortPXE    = 4011 // PXE boot server port (PXE 2.1 section 2.2.6)
)

// Reply is one answer and where it goes.
type Reply struct {
	// Packet is the reply; send Packet.ToBytes().
	Packet *dhcpv4.DHCPv4
	// Dst is the destination (RFC 2131 section 4.1): the relay's port 67,
	// the client's address and port 68, 255.255.255.255:68, or for port
	// 4011 the request's source.
	Dst netip.AddrPort
}

// request is one parsed, checked client message.
type request struct {
	msg      *dhcpv4.DHCPv4
	kind     dhcpv4.MessageType
	mac      string
	src      netip.AddrPort
	port     int
	ciaddr   netip.Addr // zero when 0.0.0.0
	giaddr   netip.Addr // zero when 0.0.0.0
	want     netip.Addr // option 50, zero when absent
	serverID netip.Addr // option 54, zero when absent
	machine  inventory.Machine
	declared bool
	class    Class
	log      *slog.Logger
	outcome  string // what became of a request left unanswered; "" is ignored
	// rejected is set when an operator rejected the MAC: the request is
	// only counted, under its message type, and ignored.
	rejected bool
}

// Handle answers one packet: data is the UDP payload, src its sender and
// port the local UDP port it arrived on (PortServer or PortPXE). ok is
// false when no reply is due. Bad packets are counted, logged at Debug and
// change nothing. Handle is safe for concurrent use.
func (s *Server) Handle(data []byte, src netip.AddrPort, port int) (r Reply, ok bool) {
	r, ok, v := s.handle(data, src, port)
	s.cfg.Metrics.packet(v.typ, v.outcome)
	return r, ok
}

// handle is Handle without counting the packet's verdict, which the
// caller does once it knows whether the reply went out.
func (s *Server) handle(data []byte, src netip.AddrPort, port int) (Reply, bool, verdict) {
	s.stats.received.Add(1)
	req, err := s.parse(data, src, port)
	if err != nil {
		s.stats.malformed.Add(1)
		s.log.Debug("malformed packet", "remote", src, "bytes", len(data), "err", err)
		return Reply{}, false, verdict{typeMalformed, outcomeMalformed}
	}
	if req == nil {
		s.stats.ignored.Add(1)
		return Reply{}, false, verdict{typeOther, outcomeIgnored}
	}
	if req.rejected {
		s.stats.ignored.Add(1)
		return Reply{}, false, verdict{typeLabel(req.kind), outcomeIgnored}
	}
	m := s.dispatch(req)
	v := verdict{typeLabel(req.kind), replyOutcome(req, m)}
	if m == nil {
		return Reply{}, false, v
	}
	s.count(req, m)
	return Reply{Packet: m, Dst: s.destination(req, m)}, true, v
}

func (s *Server) dispatch(r *request) *dhcpv4.DHCPv4 {
	switch {
	case r.port == PortPXE:
		return s.bootServer(r)
	case s.cfg.Mode == ModeProxy:
		return s.proxy(r)
	}
	return s.authoritative(r)
}

// parse decodes and checks a packet. A nil request and nil error mean a
// well-formed packet that is not for a server (a reply, a plain BOOTP
// request).
func (s *Server) parse(data []byte, src netip.AddrPort, port int) (*request, error) {
	msg, err := dhcpv4.FromBytes(data)
	if err != nil {
		return nil, err
	}
	if msg.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, nil
	}
	if msg.HWType != iana.HWTypeEthernet || len(msg.ClientHWAddr) != 6 {
		return nil, fmt.Errorf("htype %d hlen %d: not ethernet",
			msg.HWType, len(msg.ClientHWAddr))
	}
	r := &request{msg: msg, src: src, port: port, mac: msg.ClientHWAddr.String()}
	// A group or all-zero chaddr is no network card: answering would
	// broadcast to many hosts, and recording it would make a phantom
	// machine.
	if !inventory.UnicastMAC(r.mac) {
		return nil, fmt.Errorf("chaddr %s is not a unicast MAC", r.mac)
	}
	r.ciaddr = fromIP(msg.ClientIPAddr)
	r.giaddr = fromIP(msg.GatewayIPAddr)
	// Replies go to these addresses: refuse ones that would loop back or
	// fan out.
	if !unicast(r.ciaddr) || !unicast(r.giaddr) {
		return nil, fmt.Errorf("ciaddr %v or giaddr %v is not unicast", r.ciaddr, r.giaddr)
	}
	if err := r.readOptions(); err != nil {
		return nil, err
	}
	if r.kind == dhcpv4.MessageTypeNone {
		return nil, nil
	}
	// Checked once the message type is known, so that the packet is
	// counted under it.
	if s.rejected(r.mac) {
		s.log.Debug("rejected mac ignored", "mac", r.mac)
		r.rejected = true
		return r, nil
	}
	r.machine, r.declared = s.machine(r.mac)
	r.log = s.log.With("mac", r.mac, "xid", xidValue(msg.TransactionID))
	r.class = s.classify(r)
	return r, nil
}

// unicast reports whether a is unset or an address a reply may go to.
func unicast(a netip.Addr) bool {
	return !a.IsValid() || !(a.IsLoopback() || a.IsMulticast() || a == broadcastIP)
}

// readOptions checks the lengths of the options the server acts on.
func (r *request) readOptions() error {
	opts := r.msg.Options
	if b, ok := opts[dhcpv4.OptionDHCPMessageType.Code()]; ok {
		if len(b) != 1 || b[0] == 0 {
			return fmt.Errorf("option 53: bad message type % x", b)
		}
		r.kind = dhcpv4.MessageType(b[0])
	}
	var err error
	if r.want, err = ipOption(opts, dhcpv4.OptionRequestedIPAddress); err != nil {
		return err
	}
	r.serverID, err = ipOption(opts, dhcpv4.OptionServerIdentifier)
	return err
}

// ipOption reads a single-address option (RFC 2132 sections 9.1, 9.7).
func ipOption(opts dhcpv4.Options, code dhcpv4.OptionCode) (netip.Addr, error) {
	b, ok := opts[code.Code()]
	if !ok {
		return netip.Addr{}, nil
	}
	if len(b) != 4 {
		return netip.Addr{}, fmt.Errorf("option %d: %d bytes, want 4", code.Code(), len(b))
	}
	return netip.AddrFrom4([4]byte(b)), nil
}

// classify classifies r, reusing the DISCOVER's class for the rest of the
// same exchange (FORMATS case 4).
func (s *Server) classify(r *request) Class {
	key := classKey{mac: r.mac, xid: r.msg.TransactionID}
	if r.kind != dhcpv4.MessageTypeDiscover {
		if c, ok := s.cache.get(key, s.now()); ok {
			return c
		}
	}
	c := Classify(r.msg.Options, r.machine.Arch)
	if len(c.Notes) > 0 {
		r.log.Debug("odd client options", "arch", c.ArchCode, "err", c.Notes)
	}
	if r.kind == dhcpv4.MessageTypeDiscover && c.Boot() {
		s.cache.put(key, c, s.now())
	}
	return c
}

// newReply starts a reply of type t to r (RFC 2131 section 4.3.1, table 3).
func (s *Server) newReply(r *request, t dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	q := r.msg
	m := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        q.HWType,
		TransactionID: q.TransactionID,
		Flags:         q.Flags,
		ClientIPAddr:  toIP(zeroIP),
		YourIPAddr:    toIP(zeroIP),
		ServerIPAddr:  toIP(zeroIP),
		GatewayIPAddr: toIP(r.giaddr),
		ClientHWAddr:  bytes.Clone(q.ClientHWAddr),
		Options:       make(dhcpv4.Options),
	}
	if t == dhcpv4.MessageTypeAck {
		m.ClientIPAddr = toIP(r.ciaddr)
	}
	m.UpdateOption(dhcpv4.OptMessageType(t))
	m.UpdateOption(dhcpv4.OptServerIdentifier(toIP(s.cfg.ServerIP)))
	// RFC 3046 section 2.2: option 82 goes back unchanged. RFC 6842: so
	// does the client identifier.
	for _, code := range []uint8{optRelayAgent, optClientID} {
		if v, ok := q.Options[code]; ok {
			m.Options[code] = bytes.Clone(v)
		}
	}
	return m
}

// destination says where reply m to r goes (RFC 2131 section 4.1).
func (s *Server) destination(r *request, m *dhcpv4.DHCPv4) netip.AddrPort {
	switch {
	case r.port == PortPXE:
		if !r.src.Addr().IsValid() || r.src.Addr().IsUnspecified() {
			return netip.AddrPortFrom(broadcastIP, r.src.Port())
		}
		return r.src
	case r.giaddr.IsValid():
		if m.MessageType() == dhcpv4.MessageTypeNak {
			m.SetBroadcast() // section 4.3.2: the relay broadcasts a NAK
		}
		return netip.AddrPortFrom(r.giaddr, PortServer)
	case m.MessageType() != dhcpv4.MessageTypeNak && r.ciaddr.IsValid() && !r.msg.IsBroadcast():
		return netip.AddrPortFrom(r.ciaddr, PortClient)
	}
	return netip.AddrPortFrom(broadcastIP, PortClient)
}

func (s *Server) count(r *request, m *dhcpv4.DHCPv4) {
	switch m.MessageType() {
	case dhcpv4.MessageTypeOffer:
		s.stats.offers.Add(1)
		s.cfg.Metrics.offer(r.class)
	case dhcpv4.MessageTypeAck:
		s.stats.acks.Add(1)
	case dhcpv4.MessageTypeNak:
		s.stats.naks.Add(1)
	}
}

// tracked reports whether r's client gets a timeline: network-boot clients
// and declared machines, not every laptop on the segment.
func (r *request) tracked() bool { return r.declared || r.class.Boot() }

// record appends an event to r's timeline if the client is tracked.
func (s *Server) record(r *request, kind inventory.EventKind, ip netip.Addr, detail string) {
	if !r.tracked() {
		return
	}
	if kind == inventory.EventDHCPOffer {
		detail = strings.TrimPrefix(detail+r.seen(), " ")
	}
	e := inventory.Event{Kind: kind, IP: ip, Detail: detail}
	if _, err := s.inv.Record(r.mac, e); err != nil {
		s.storeFailed(r, "recording event", "err", err)
	}
}
