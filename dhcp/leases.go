package dhcp

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// claim is one client's claim to addresses of one pool.
type claim struct {
	mac  string
	pool *Pool
	// reserved is this machine's reservation when it lies in pool.Subnet;
	// the client may then have no other address there.
	reserved netip.Addr
	// taken reports addresses reserved for other machines.
	taken func(netip.Addr) bool
	// server is rackboot's own address, never handed out.
	server netip.Addr
}

// hold keeps an offered address for one client for a while (RFC 2131
// section 4.3.1: the server "SHOULD NOT" offer it to another meanwhile).
type hold struct {
	mac   string
	until time.Time
}

// binding is a lease change made in memory and not yet in the store.
type binding struct {
	lease   inventory.Lease
	prev    *inventory.Lease // this client's lease before, if any
	evicted *inventory.Lease // another client's expired lease on the address
}

// leaseTable is authoritative mode's address state: leases (mirrored in the
// store), offers not yet requested and declined addresses in quarantine.
// It never touches the store itself, so callers write the store without the
// lock held and concurrent writes share a commit. Memory stays bounded by
// the pools: every entry holds a distinct address.
type leaseTable struct {
	// seed offsets where scans of a pool start (Config.CursorSeed); set
	// before the table is shared.
	seed uint64

	mu sync.Mutex
	// guarded by mu:
	byMAC      map[string]inventory.Lease
	byIP       map[netip.Addr]string
	offers     map[netip.Addr]hold
	offerOf    map[string]netip.Addr
	quarantine map[netip.Addr]time.Time
	cursor     map[*Pool]netip.Addr
}

// newLeaseTable returns a table holding the stored leases and
// quarantines; quarantines that have ended drop out when next looked at.
func newLeaseTable(leases []inventory.Lease, declined []inventory.Declined) *leaseTable {
	t := &leaseTable{
		byMAC:      make(map[string]inventory.Lease, len(leases)),
		byIP:       make(map[netip.Addr]string, len(leases)),
		offers:     make(map[netip.Addr]hold),
		offerOf:    make(map[string]netip.Addr),
		quarantine: make(map[netip.Addr]time.Time),
		cursor:     make(map[*Pool]netip.Addr),
	}
	for _, l := range leases {
		t.byMAC[l.MAC] = l
		t.byIP[l.IP] = l.MAC
	}
	for _, d := range declined {
		t.quarantine[d.IP] = d.Until
	}
	return t
}

// availableLocked reports whether c.mac may hold ip at now.
func (t *leaseTable) availableLocked(c claim, ip netip.Addr, now time.Time) bool {
	switch {
	case !ip.Is4() || !c.pool.host(ip) || ip == c.server:
		return false
	case c.reserved.IsValid() && ip != c.reserved:
		return false
	case ip != c.reserved && c.taken(ip):
		return false
	case t.quarantinedLocked(ip, now):
		return false
	}
	if m, ok := t.byIP[ip]; ok && m != c.mac && !t.byMAC[m].Expired(now) {
		return false
	}
	if h, ok := t.offers[ip]; ok && h.mac != c.mac && now.Before(h.until) {
		return false
	}
	if ip == c.reserved || t.byMAC[c.mac].IP == ip {
		return true
	}
	return c.pool.inRange(ip)
}

// holder says who keeps ip from c.mac at now: another client's lease or
// pending offer, or a quarantine after a DHCPDECLINE; "" when none does.
func (t *leaseTable) holder(c claim, ip netip.Addr, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.byIP[ip]; ok && m != c.mac && !t.byMAC[m].Expired(now) {
		return fmt.Sprintf("leased to %s until %s", m, t.byMAC[m].Expiry.UTC().Format(time.RFC3339))
	}
	if h, ok := t.offers[ip]; ok && h.mac != c.mac && now.Before(h.until) {
		if h.mac == "" {
			return "claimed through another replica"
		}
		return "offered to " + h.mac
	}
	if t.quarantinedLocked(ip, now) {
		return "quarantined after a client declined it"
	}
	return ""
}

func (t *leaseTable) quarantinedLocked(ip netip.Addr, now time.Time) bool {
	until, ok := t.quarantine[ip]
	if ok && !now.Before(until) {
		delete(t.quarantine, ip)
		return false
	}
	return ok
}

// offer picks an address for c (RFC 2131 section 4.3.1) and holds it until
// holdUntil: the reservation, else the client's last address, its pending
// offer, the address it asks for (want) or a free one, fresh addresses
// before expired leases of other clients.
func (t *leaseTable) offer(c claim, want netip.Addr, now, holdUntil time.Time) (netip.Addr, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ip, ok := t.chooseLocked(c, want, now)
	if ok {
		t.holdLocked(c.mac, ip, holdUntil)
	}
	return ip, ok
}

func (t *leaseTable) chooseLocked(c claim, want netip.Addr, now time.Time) (netip.Addr, bool) {
	if c.reserved.IsValid() {
		return c.reserved, t.availableLocked(c, c.reserved, now)
	}
	for _, ip := range []netip.Addr{t.byMAC[c.mac].IP, t.offerOf[c.mac], want} {
		if ip.IsValid() && t.availableLocked(c, ip, now) {
			return ip, true
		}
	}
	return t.scanLocked(c, now)
}

// scanLocked walks the dynamic range once from where the last scan of this
// pool stopped.
func (t *leaseTable) scanLocked(c claim, now time.Time) (netip.Addr, bool) {
	start, ok := t.cursor[c.pool]
	if !ok {
		start = c.pool.seeded(t.seed)
	}
	var reuse netip.Addr
	ip := start
	for {
		if t.availableLocked(c, ip, now) {
			if _, used := t.byIP[ip]; !used {
				t.cursor[c.pool] = c.pool.next(ip)
				return ip, true
			}
			if !reuse.IsValid() {
				reuse = ip
			}
		}
		if ip = c.pool.next(ip); ip == start {
			return reuse, reuse.IsValid()
		}
	}
}

func (t *leaseTable) holdLocked(mac string, ip netip.Addr, until time.Time) {
	t.dropOfferLocked(mac)
	if old, ok := t.offers[ip]; ok && t.offerOf[old.mac] == ip {
		delete(t.offerOf, old.mac)
	}
	t.offers[ip] = hold{mac: mac, until: until}
	t.offerOf[mac] = ip
}

func (t *leaseTable) dropOfferLocked(mac string) {
	if ip, ok := t.offerOf[mac]; ok {
		delete(t.offerOf, mac)
		if t.offers[ip].mac == mac {
			delete(t.offers, ip)
		}
	}
}

// choseOther forgets the address offered to mac, whose REQUEST named
// another server (RFC 2131 section 4.3.2), and holds want, the address
// that server is about to lease mac, for mac until until: a replica
// sharing the store (issue #7) may take a while to write the lease and
// the feed to tell of it, and meanwhile this server must not offer want
// to another client, which would get a NAK.
func (t *leaseTable) choseOther(mac string, want netip.Addr, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dropOfferLocked(mac)
	if !want.IsValid() {
		return
	}
	if m, ok := t.byIP[want]; ok && m != mac {
		return // the feed told of a holder already
	}
	if h, ok := t.offers[want]; ok && h.mac != mac && until.Before(h.until) {
		return
	}
	t.holdLocked(mac, want, until)
}

// bind leases ip to c.mac in memory, until expiry, if c may have it. The
// caller writes the binding to the store and calls undo if that fails.
func (t *leaseTable) bind(c claim, ip netip.Addr, hostname string,
	now, expiry time.Time) (binding, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.availableLocked(c, ip, now) {
		return binding{}, false
	}
	b := binding{lease: inventory.Lease{MAC: c.mac, IP: ip, Expiry: expiry, Hostname: hostname}}
	if prev, ok := t.byMAC[c.mac]; ok {
		b.prev = &prev
		t.unmapLocked(prev)
	}
	if other, ok := t.byIP[ip]; ok && other != c.mac {
		ev := t.byMAC[other]
		b.evicted = &ev
		delete(t.byMAC, other)
	}
	t.byMAC[c.mac] = b.lease
	t.byIP[ip] = c.mac
	t.dropOfferLocked(c.mac)
	delete(t.offers, ip)
	return b, true
}

func (t *leaseTable) unmapLocked(l inventory.Lease) {
	if t.byIP[l.IP] == l.MAC {
		delete(t.byIP, l.IP)
	}
}

// undo reverts b unless the client's lease changed again meanwhile.
func (t *leaseTable) undo(b binding) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byMAC[b.lease.MAC] != b.lease {
		return
	}
	delete(t.byMAC, b.lease.MAC)
	t.unmapLocked(b.lease)
	for _, l := range []*inventory.Lease{b.prev, b.evicted} {
		if l == nil {
			continue
		}
		if _, taken := t.byIP[l.IP]; !taken {
			t.byMAC[l.MAC] = *l
			t.byIP[l.IP] = l.MAC
		}
	}
}

// release ends mac's lease on ip at now (RFC 2131 section 4.3.4) and
// returns the ended lease. The address stays linked to the client, so it
// gets it back when nobody else took it.
func (t *leaseTable) release(mac string, ip netip.Addr, now time.Time) (inventory.Lease, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.byMAC[mac]
	if !ok || l.IP != ip || l.Expired(now) {
		return inventory.Lease{}, false
	}
	l.Expiry = now
	t.byMAC[mac] = l
	return l, true
}

// decline takes ip out of use until `until` if it was leased or offered to
// mac (RFC 2131 section 4.3.3). leased says a lease was dropped. The
// caller stores the quarantine (LeaseStore.PutDeclined), so that a restart
// keeps it.
func (t *leaseTable) decline(mac string, ip netip.Addr, until time.Time) (leased, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, has := t.byMAC[mac]
	leased = has && l.IP == ip
	offered := t.offers[ip].mac == mac
	if !leased && !offered {
		return false, false
	}
	if leased {
		delete(t.byMAC, mac)
		t.unmapLocked(l)
	}
	t.dropOfferLocked(mac)
	t.quarantine[ip] = until
	return leased, true
}

// lease returns mac's lease, expired or not.
func (t *leaseTable) lease(mac string) (inventory.Lease, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.byMAC[mac]
	return l, ok
}
