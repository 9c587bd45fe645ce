package dhcp

import (
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// proxy answers port 67 in proxy mode (PXE 2.1 section 2.2.5): boot
// parameters for network-boot clients, never an address, so that the site's
// own DHCP server keeps assigning addresses.
func (s *Server) proxy(r *request) *dhcpv4.DHCPv4 {
	switch r.kind {
	case dhcpv4.MessageTypeDiscover:
		return s.bootAnswer(r, dhcpv4.MessageTypeOffer, r.ciaddr)
	case dhcpv4.MessageTypeInform:
		return s.bootAnswer(r, dhcpv4.MessageTypeAck, r.ciaddr)
	case dhcpv4.MessageTypeRequest:
		if r.serverID == s.cfg.ServerIP {
			return s.bootAnswer(r, dhcpv4.MessageTypeAck, r.ciaddr)
		}
		s.noteAddress(r)
	}
	s.stats.ignored.Add(1)
	return nil
}

// bootServer answers a request to the PXE boot server port 4011 (PXE 2.1
// section 2.2.6) with an ACK carrying the same boot file port 67 gives.
func (s *Server) bootServer(r *request) *dhcpv4.DHCPv4 {
	switch r.kind {
	case dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform:
		ip := r.ciaddr
		if !ip.IsValid() && r.src.Addr().Is4() && !r.src.Addr().IsUnspecified() {
			ip = r.src.Addr()
		}
		return s.bootAnswer(r, dhcpv4.MessageTypeAck, ip)
	}
	s.stats.ignored.Add(1)
	return nil
}

// bootAnswer builds a proxy or boot server reply of type t without an
// address; clientIP is the client's address when known, for the timeline.
func (s *Server) bootAnswer(r *request, t dhcpv4.MessageType, clientIP netip.Addr) *dhcpv4.DHCPv4 {
	if !r.class.Boot() {
		s.stats.ignored.Add(1)
		return nil
	}
	b, why, ok := s.bootFor(r.class)
	if !ok {
		s.noBoot(r, why)
		return nil
	}
	if b.vendor == "" {
		// A ProxyDHCP reply always names itself PXEClient (PXE 2.1
		// section 2.2.5), or iPXE would not take it for one.
		b.vendor = vendorPXE
	}
	m := s.newReply(r, t)
	s.applyBoot(m, b)
	s.pxeOptions(r, m, b)
	kind := inventory.EventDHCPOffer
	if t == dhcpv4.MessageTypeAck {
		kind = inventory.EventDHCPAck
	}
	s.record(r, kind, clientIP, b.detail())
	r.log.Info("boot "+t.String(), "arch", b.arch, "file", b.file, "ip", addrOr(clientIP, "unknown"))
	return m
}

// pxeOptions adds the PXE client options to reply m: option 97 echoed when
// the client sent a well-formed one (PXE 2.1 section 2.2.5), and option 43
// for PXEClient replies: discovery control on port 67, the mirrored boot
// item (sub-option 71) on port 4011 when the client sent one.
func (s *Server) pxeOptions(r *request, m *dhcpv4.DHCPv4, b boot) {
	if r.class.UUID != nil {
		m.Options[optClientUUID] = r.class.UUID
	}
	if b.vendor != vendorPXE {
		return
	}
	if r.port != PortPXE {
		m.Options[optVendorSpecific] = discoveryOptions
		return
	}
	if item, ok := bootItem(r.msg.Options[optVendorSpecific]); ok {
		m.Options[optVendorSpecific] = append(item, pxeEnd)
	}
}

// noteAddress records the address a booting client asks another DHCP
// server for, so that its TFTP and HTTP requests, which show only the
// address, land in its timeline.
func (s *Server) noteAddress(r *request) {
	ip := r.want
	if !ip.IsValid() {
		ip = r.ciaddr
	}
	if !ip.IsValid() {
		return
	}
	s.record(r, inventory.EventDHCPDiscover, ip, "request to "+addrOr(r.serverID, "any server"))
}

func addrOr(a netip.Addr, none string) string {
	if !a.IsValid() {
		return none
	}
	return a.String()
}
