package dhcp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// authoritative answers port 67 in authoritative mode (RFC 2131 section
// 4.3): addresses for every client, boot parameters for booting ones.
func (s *Server) authoritative(r *request) *dhcpv4.DHCPv4 {
	switch r.kind {
	case dhcpv4.MessageTypeDiscover:
		return s.offer(r)
	case dhcpv4.MessageTypeRequest:
		return s.request(r)
	case dhcpv4.MessageTypeInform:
		return s.inform(r)
	case dhcpv4.MessageTypeRelease:
		s.release(r)
	case dhcpv4.MessageTypeDecline:
		s.decline(r)
	default:
		s.stats.ignored.Add(1)
	}
	return nil
}

// poolFor returns the pool serving r: the relay's (giaddr), else the one
// holding the client's address (ciaddr), else the interface's.
//
// TODO(#2): honour link selection (RFC 3527 sub-option 5 of option 82,
// RFC 3011 option 118) for relays whose giaddr is not on the client's link.
func (s *Server) poolFor(r *request) *Pool {
	i := s.local
	switch {
	case r.giaddr.IsValid():
		i = poolHolding(s.pools, r.giaddr)
	case r.ciaddr.IsValid():
		i = poolHolding(s.pools, r.ciaddr)
	}
	if i < 0 {
		return nil
	}
	return &s.pools[i]
}

// offer answers a DISCOVER (RFC 2131 section 4.3.1).
func (s *Server) offer(r *request) *dhcpv4.DHCPv4 {
	p := s.poolFor(r)
	if p == nil {
		s.noPool(r)
		return nil
	}
	if why := s.reservationProblem(r.machine, p); why != "" {
		s.note(r.log, slog.LevelWarn, r.mac, "reservation unusable", "ip", r.machine.Address, "err", why)
	}
	now := s.now()
	c := s.claimFor(r.mac, r.machine, p)
	ip, ok := s.leases.offer(c, r.want, now, now.Add(s.cfg.OfferHold))
	if !ok {
		s.stats.noAddress.Add(1)
		r.outcome = outcomeNoAddress
		if c.reserved.IsValid() {
			s.note(r.log, slog.LevelWarn, r.mac, "reserved address unavailable", "ip", c.reserved,
				"err", s.leases.holder(c, c.reserved, now))
			return nil
		}
		s.note(r.log, slog.LevelWarn, p.Subnet.String(), "no free address", "ip", p.Subnet)
		return nil
	}
	m := s.newReply(r, dhcpv4.MessageTypeOffer)
	m.YourIPAddr = toIP(ip)
	s.addLeaseOptions(m, p)
	s.record(r, inventory.EventDHCPOffer, ip, s.addBoot(r, m))
	r.log.Info("address offered", "ip", ip)
	return m
}

// reservationProblem says why machine m's reserved address cannot be
// handed out on pool p, or "" when it can (or m reserves none). Neither
// the inventory file nor the API knows the pools, so this is where an
// operator learns of it.
func (s *Server) reservationProblem(m inventory.Machine, p *Pool) string {
	a := m.Address.Unmap()
	switch {
	case !a.IsValid():
		return ""
	case !p.Subnet.Contains(a):
		return fmt.Sprintf("outside the subnet %s serving the machine: ignored, a pool address is offered", p.Subnet)
	case a == p.Subnet.Addr():
		return "the subnet's network address: nothing is offered"
	case a == lastAddr(p.Subnet):
		return "the subnet's broadcast address: nothing is offered"
	case a == p.Router:
		return "the subnet's router: nothing is offered"
	case a == s.cfg.ServerIP:
		return "rackboot's own address: nothing is offered"
	}
	return ""
}

// request answers a REQUEST in any of its states (RFC 2131 section
// 4.3.2): SELECTING (option 54 and 50), INIT-REBOOT (option 50 only),
// RENEWING and REBINDING (ciaddr only). The lease is on disk before the
// ACK is returned.
func (s *Server) request(r *request) *dhcpv4.DHCPv4 {
	if r.serverID.IsValid() && r.serverID != s.cfg.ServerIP {
		// The client chose another server, which leases it r.want.
		s.leases.choseOther(r.mac, r.want, s.now().Add(s.cfg.OfferHold))
		s.stats.ignored.Add(1)
		return nil
	}
	ip := r.want
	if !ip.IsValid() {
		ip = r.ciaddr
	}
	if !ip.IsValid() {
		s.stats.malformed.Add(1)
		r.outcome = outcomeMalformed
		r.log.Debug("request names no address")
		return nil
	}
	p := s.poolFor(r)
	if p == nil {
		return s.nak(r, ip, "no pool for this network")
	}
	now := s.now()
	c := s.claimFor(r.mac, r.machine, p)
	b, ok := s.leases.bind(c, ip, hostname(r.msg), now, now.Add(s.cfg.LeaseTime))
	if !ok {
		return s.nak(r, ip, "address not available to this client")
	}
	if err := s.storeBinding(b); err != nil {
		s.leases.undo(b)
		if errors.Is(err, inventory.ErrConflict) {
			// Another replica's client holds ip (issue #7): never ACK it.
			s.leases.lost(ip, err, now.Add(s.cfg.OfferHold))
			return s.nak(r, ip, "address leased to another client")
		}
		s.storeFailed(r, "storing lease, no ACK sent", "ip", ip, "err", err)
		return nil
	}
	m := s.newReply(r, dhcpv4.MessageTypeAck)
	m.YourIPAddr = toIP(ip)
	s.addLeaseOptions(m, p)
	s.record(r, inventory.EventDHCPAck, ip, s.addBoot(r, m))
	r.log.Info("lease granted", "ip", ip)
	return m
}

// storeBinding writes b: first drops the expired lease it took over, then
// puts the new one.
func (s *Server) storeBinding(b binding) error {
	if b.evicted != nil {
		if err := s.inv.DeleteLease(b.evicted.MAC); err != nil {
			return err
		}
	}
	return s.inv.PutLease(b.lease)
}

// nak refuses a REQUEST for ip (RFC 2131 section 4.3.2, table 3).
func (s *Server) nak(r *request, ip netip.Addr, why string) *dhcpv4.DHCPv4 {
	m := s.newReply(r, dhcpv4.MessageTypeNak)
	m.UpdateOption(dhcpv4.OptMessage(why))
	s.record(r, inventory.EventDHCPNak, netip.Addr{}, "requested "+ip.String()+": "+why)
	r.log.Info("request refused", "ip", ip, "err", why)
	return m
}

// inform answers an INFORM (RFC 2131 section 4.3.5): configuration and
// boot parameters, no address, no lease times, no lease change, never NAK.
func (s *Server) inform(r *request) *dhcpv4.DHCPv4 {
	m := s.newReply(r, dhcpv4.MessageTypeAck)
	if p := s.poolFor(r); p != nil {
		addAddressing(m, p)
	}
	detail := "inform"
	if b := s.addBoot(r, m); b != "" {
		detail += " " + b
	}
	s.record(r, inventory.EventDHCPAck, r.ciaddr, detail)
	return m
}

// release ends the client's lease on ciaddr (RFC 2131 section 4.3.4).
func (s *Server) release(r *request) {
	if r.serverID.IsValid() && r.serverID != s.cfg.ServerIP {
		s.stats.ignored.Add(1)
		return
	}
	l, ok := s.leases.release(r.mac, r.ciaddr, s.now())
	if !ok {
		s.stats.ignored.Add(1)
		return
	}
	s.stats.releases.Add(1)
	r.outcome = outcomeAccepted
	if err := s.inv.PutLease(l); err != nil {
		s.storeFailed(r, "storing released lease", "ip", l.IP, "err", err)
	}
	s.record(r, inventory.EventDHCPRelease, l.IP, "")
	r.log.Info("lease released", "ip", l.IP)
}

// decline quarantines the address in option 50 when it was this client's
// (RFC 2131 section 4.3.3): another host on the link uses it.
func (s *Server) decline(r *request) {
	if r.serverID.IsValid() && r.serverID != s.cfg.ServerIP {
		s.stats.ignored.Add(1)
		return
	}
	until := s.now().Add(s.cfg.DeclineHold)
	leased, ok := s.leases.decline(r.mac, r.want, until)
	if !ok {
		s.stats.ignored.Add(1)
		return
	}
	s.stats.declines.Add(1)
	r.outcome = outcomeAccepted
	if err := s.inv.PutDeclined(r.want, until); err != nil {
		s.storeFailed(r, "storing declined address", "ip", r.want, "err", err)
	}
	if leased {
		if err := s.inv.DeleteLease(r.mac); err != nil {
			s.storeFailed(r, "deleting declined lease", "ip", r.want, "err", err)
		}
	}
	s.record(r, inventory.EventDHCPDecline, netip.Addr{}, "declined "+r.want.String())
	r.log.Warn("address declined, quarantined", "ip", r.want)
}

// addLeaseOptions adds lease times (RFC 2132 sections 9.2, 9.11, 9.12:
// T1 = 1/2, T2 = 7/8 of the lease) and the pool's addressing.
func (s *Server) addLeaseOptions(m *dhcpv4.DHCPv4, p *Pool) {
	lt := s.cfg.LeaseTime.Truncate(time.Second)
	m.UpdateOption(dhcpv4.OptIPAddressLeaseTime(lt))
	m.UpdateOption(dhcpv4.OptRenewTimeValue((lt / 2).Truncate(time.Second)))
	m.UpdateOption(dhcpv4.OptRebindingTimeValue((lt * 7 / 8).Truncate(time.Second)))
	addAddressing(m, p)
}

// addAddressing adds subnet mask, router and name servers (RFC 2132
// sections 3.3, 3.5, 3.8).
func addAddressing(m *dhcpv4.DHCPv4, p *Pool) {
	m.UpdateOption(dhcpv4.OptSubnetMask(p.mask()))
	if p.Router.IsValid() {
		m.UpdateOption(dhcpv4.OptRouter(toIP(p.Router)))
	}
	if len(p.DNS) > 0 {
		dns := make([]net.IP, 0, len(p.DNS))
		for _, d := range p.DNS {
			dns = append(dns, toIP(d))
		}
		m.UpdateOption(dhcpv4.OptDNS(dns...))
	}
}

// addBoot adds boot parameters for a booting client to m and returns the
// event detail ("" when the client gets none).
func (s *Server) addBoot(r *request, m *dhcpv4.DHCPv4) string {
	if !r.class.Boot() {
		return ""
	}
	b, why, ok := s.bootFor(r.class)
	if !ok {
		s.noBoot(r, why)
		return "no boot: " + why
	}
	s.applyBoot(m, b)
	s.pxeOptions(r, m, b)
	return b.detail()
}

// hostname returns option 12 (RFC 2132 section 3.14) if it is a plausible
// host name, else "".
func hostname(m *dhcpv4.DHCPv4) string {
	h := m.HostName()
	if len(h) > 63 || strings.IndexFunc(h, func(c rune) bool {
		return c <= ' ' || c > '~'
	}) >= 0 {
		return ""
	}
	return h
}
