package tftp

import "sync/atomic"

// Stats counts what a Server has done since it was made. Each field only
// grows.
type Stats struct {
	// Requests is the number of well-formed RRQs and WRQs received.
	Requests uint64
	// Served is the number of transfers that ended with the last block
	// acknowledged.
	Served uint64
	// Probes is the number of size probes: RRQs with tsize whose client
	// ended the transfer with an ERROR in answer to the OACK, as EDK2 does
	// to learn a file's size.
	Probes uint64
	// Refused is the number of requests answered with an ERROR: writes,
	// unsupported modes, missing files, paths outside the roots.
	Refused uint64
	// Busy is the number of requests turned away because MaxTransfers
	// transfers were running.
	Busy uint64
	// ClientBusy is the number of requests turned away because
	// MaxPerClient transfers from the same address were running.
	ClientBusy uint64
	// Errors is the number of transfers that started and failed: timeout,
	// an ERROR from the client, a read or socket error.
	Errors uint64
	// Malformed is the number of packets that could not be decoded or had
	// no place in the protocol.
	Malformed uint64
}

// counters are the live, atomic form of Stats.
type counters struct {
	requests, served, probes, refused, busy, clientBusy, errors, malformed atomic.Uint64
}

// snapshot returns the current values.
func (c *counters) snapshot() Stats {
	return Stats{
		Requests:   c.requests.Load(),
		Served:     c.served.Load(),
		Probes:     c.probes.Load(),
		Refused:    c.refused.Load(),
		Busy:       c.busy.Load(),
		ClientBusy: c.clientBusy.Load(),
		Errors:     c.errors.Load(),
		Malformed:  c.malformed.Load(),
	}
}
