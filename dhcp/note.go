package dhcp

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// noteEvery spaces the lines that tell an operator why clients go
// unserved: one per reason and key per minute, the repeats at Debug.
const noteEvery = time.Minute

// note logs msg at level for an operator, at most once per noteEvery for
// each msg and key (a MAC, a pool, an architecture; "" for the server as a
// whole). Repeats go to Debug, and the next line that goes out carries the
// number held back. Config and capacity problems are Warn; a client's own
// oddities are Info.
func (s *Server) note(log *slog.Logger, level slog.Level, key, msg string, args ...any) {
	s.limit.Log(context.Background(), log, level, msg+"\x00"+key, msg, args...)
}

// noBoot counts and logs a boot client left without boot parameters:
// an architecture rackboot cannot tell (the client's oddity, Info, per
// MAC) or one without a loader (configuration, Warn, per architecture).
func (s *Server) noBoot(r *request, why string) {
	s.stats.noBoot.Add(1)
	r.outcome = outcomeNoBoot
	if len(r.class.Notes) > 0 {
		why += ": " + strings.Join(r.class.Notes, "; ")
	}
	if r.class.Arch == "" {
		s.note(r.log, slog.LevelInfo, r.mac, "boot client of unknown architecture not served",
			"arch", r.class.ArchCode, "err", why)
		return
	}
	s.note(r.log, slog.LevelWarn, string(r.class.Arch), "no boot loader for architecture",
		"arch", r.class.Arch, "err", why)
}

// noPool counts and logs a client no pool serves: a relay's giaddr, or
// the client's ciaddr, outside every pool, or a local client when no pool
// holds ServerIP. Per network, Warn: the pools lack one.
func (s *Server) noPool(r *request) {
	s.stats.noAddress.Add(1)
	r.outcome = outcomeNoAddress
	via := r.giaddr
	if !via.IsValid() {
		via = r.ciaddr
	}
	if !via.IsValid() {
		s.note(r.log, slog.LevelWarn, "", "no pool for client",
			"err", "no pool holds the server's address "+s.cfg.ServerIP.String())
		return
	}
	s.note(r.log, slog.LevelWarn, via.String(), "no pool for client", "ip", via)
}

// storeFailed counts and logs a failed store write, at most once per
// noteEvery for each kind of write.
func (s *Server) storeFailed(r *request, msg string, args ...any) {
	s.stats.storeErrors.Add(1)
	r.outcome = outcomeError
	s.note(r.log, slog.LevelWarn, "", msg, args...)
}

// xidValue logs a transaction ID as "0x00000101" in every handler (the
// JSON handler would print dhcpv4.TransactionID as a list of bytes), and
// formats it only when a line is written.
type xidValue dhcpv4.TransactionID

// LogValue implements slog.LogValuer.
func (x xidValue) LogValue() slog.Value {
	return slog.StringValue(fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(x[:])))
}
