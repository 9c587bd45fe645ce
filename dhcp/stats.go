package dhcp

import "sync/atomic"

// Stats counts what a Server has seen and done since it was created.
type Stats struct {
	Received  uint64 // packets handed to Handle
	Malformed uint64 // packets that failed to parse or had bad fields
	Ignored   uint64 // well-formed packets not for us (not booting, other server)
	Dropped   uint64 // packets dropped because every worker was busy
	Offers    uint64 // DHCPOFFERs sent
	Acks      uint64 // DHCPACKs sent (INFORM answers and port 4011 included)
	Naks      uint64 // DHCPNAKs sent
	Releases  uint64 // DHCPRELEASEs that released a lease
	Declines  uint64 // DHCPDECLINEs that quarantined an address
	NoBoot    uint64 // boot clients left without boot parameters (e.g. unknown arch)
	NoAddress uint64 // clients left without an address (no pool, pool full)
	// StoreErrors counts failed writes to the store; no ACK goes out when a
	// lease could not be written.
	StoreErrors uint64
	SendErrors  uint64 // replies the socket failed to send
}

// counters is the live, atomic form of Stats.
type counters struct {
	received, malformed, ignored, dropped      atomic.Uint64
	offers, acks, naks, releases, declines     atomic.Uint64
	noBoot, noAddress, storeErrors, sendErrors atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Received:    c.received.Load(),
		Malformed:   c.malformed.Load(),
		Ignored:     c.ignored.Load(),
		Dropped:     c.dropped.Load(),
		Offers:      c.offers.Load(),
		Acks:        c.acks.Load(),
		Naks:        c.naks.Load(),
		Releases:    c.releases.Load(),
		Declines:    c.declines.Load(),
		NoBoot:      c.noBoot.Load(),
		NoAddress:   c.noAddress.Load(),
		StoreErrors: c.storeErrors.Load(),
		SendErrors:  c.sendErrors.Load(),
	}
}

// Stats returns a snapshot of the server's counters. It is safe to call
// at any time.
func (s *Server) Stats() Stats { return s.stats.snapshot() }
