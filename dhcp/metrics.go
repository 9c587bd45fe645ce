package dhcp

import (
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rackboot/rackboot/inventory"
)

// Outcomes of a packet, the outcome label of rackboot_dhcp_packets_total.
// Each packet received gets exactly one.
const (
	outcomeAnswered  = "answered"   // a reply went out (OFFER or ACK)
	outcomeRefused   = "refused"    // a NAK went out
	outcomeAccepted  = "accepted"   // a RELEASE or DECLINE took effect; no reply is due
	outcomeIgnored   = "ignored"    // well formed, not for us
	outcomeMalformed = "malformed"  // failed to parse, or bad fields
	outcomeNoBoot    = "no_boot"    // a boot client with no loader for its architecture
	outcomeNoAddress = "no_address" // no pool serves the client, or the pool is full
	outcomeDropped   = "dropped"    // every worker was busy
	outcomeError     = "error"      // a store write or the send failed
)

// Message type labels for packets that carry no usable option 53.
const (
	typeMalformed = "malformed" // the packet did not parse
	typeUnknown   = "unknown"   // dropped before it was parsed
	typeOther     = "other"     // a reply, plain BOOTP, or a type rackboot does not serve
)

// Metrics counts a Server's packets and offers for Prometheus. Make it
// with NewMetrics and hand it over in Config.Metrics. A nil *Metrics is
// valid and counts nothing. Its methods are safe for concurrent use.
type Metrics struct {
	packets *prometheus.CounterVec
	offers  *prometheus.CounterVec
}

// NewMetrics makes the DHCP collectors and registers them with reg (none
// when reg is nil):
//
//	rackboot_dhcp_packets_total{type,outcome}
//	rackboot_dhcp_offers_total{client_class}
//
// It panics, as prometheus.Registerer.MustRegister does, when reg holds
// them already.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_dhcp_packets_total",
			Help: "DHCP packets received, by message type and what became of them.",
		}, []string{"type", "outcome"}),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_dhcp_offers_total",
			Help: "DHCPOFFERs sent, by the kind of client they went to.",
		}, []string{"client_class"}),
	}
	for _, c := range clientClasses {
		m.offers.WithLabelValues(c)
	}
	if reg != nil {
		reg.MustRegister(m.packets, m.offers)
	}
	return m
}

// packet counts one packet of type typ with outcome out.
func (m *Metrics) packet(typ, out string) {
	if m == nil {
		return
	}
	m.packets.WithLabelValues(typ, out).Inc()
}

// offer counts one DHCPOFFER to a client of class c.
func (m *Metrics) offer(c Class) {
	if m == nil {
		return
	}
	m.offers.WithLabelValues(c.label()).Inc()
}

// clientClasses are the values of the client_class label.
var clientClasses = []string{"ipxe", "uefi-http", "uefi-pxe", "bios-pxe", "unknown-pxe", "none"}

// label names c for the client_class label: iPXE first (whatever firmware
// runs it), then UEFI HTTP Boot, then PXE by firmware; "none" for a client
// that does not network-boot (an address-only offer).
func (c Class) label() string {
	switch {
	case c.IPXE:
		return "ipxe"
	case c.HTTP:
		return "uefi-http"
	case !c.PXE:
		return "none"
	case c.Arch == inventory.ArchBIOS:
		return "bios-pxe"
	case c.Arch == "":
		return "unknown-pxe"
	}
	return "uefi-pxe"
}

// typeLabel names a message type (RFC 2132 section 9.6) for the type
// label; types rackboot never serves are "other".
func typeLabel(t dhcpv4.MessageType) string {
	switch t {
	case dhcpv4.MessageTypeDiscover:
		return "discover"
	case dhcpv4.MessageTypeOffer:
		return "offer"
	case dhcpv4.MessageTypeRequest:
		return "request"
	case dhcpv4.MessageTypeDecline:
		return "decline"
	case dhcpv4.MessageTypeAck:
		return "ack"
	case dhcpv4.MessageTypeNak:
		return "nak"
	case dhcpv4.MessageTypeRelease:
		return "release"
	case dhcpv4.MessageTypeInform:
		return "inform"
	}
	return typeOther
}

// verdict is what became of one packet, for rackboot_dhcp_packets_total.
type verdict struct {
	typ, outcome string
}

// replyOutcome is the outcome of a request r answered with m (nil: no
// reply): the reply decides when there is one, else what r noted.
func replyOutcome(r *request, m *dhcpv4.DHCPv4) string {
	switch {
	case m != nil && m.MessageType() == dhcpv4.MessageTypeNak:
		return outcomeRefused
	case m != nil:
		return outcomeAnswered
	case r.outcome != "":
		return r.outcome
	}
	return outcomeIgnored
}
