package web

import (
	"errors"
	"net/http"
	"net/netip"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/ipxe"
)

// serveChain answers GET /boot.ipxe with the chain script.
func (s *Server) serveChain(w http.ResponseWriter, r *http.Request) {
	writeScript(w, s.chain)
	s.metrics.script(scriptChain)
}

// serveScript answers GET /ipxe?mac=&uuid=&arch=&platform= with the
// machine's own script, or the unknown script for a MAC the catalog does
// not declare. A bad query gets 400 and records nothing.
func (s *Server) serveScript(w http.ResponseWriter, r *http.Request) {
	q, err := parseBootQuery(r.URL.RawQuery)
	if err != nil {
		s.log.Debug("bad boot script query", "remote", r.RemoteAddr, "err", err)
		writeError(w, r, http.StatusBadRequest, "bad query: "+err.Error())
		return
	}
	ip := remoteIP(r)
	m, p, ok := s.inv.Lookup(q.MAC)
	if !ok {
		s.serveUnknown(w, r, q, ip)
		return
	}
	s.rememberBootUUID(q.MAC, q.UUID)
	t := ipxe.Target{MAC: q.MAC, Machine: m, Profile: p, EFI: q.efi(m.Arch)}
	prov, err := s.inv.Provision(m.Name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if _, installed := prov.Steps[inventory.StepInstalled]; installed {
		s.serveLocal(w, r, q, t, prov.Generation, ip)
		return
	}
	script, err := s.scripts.Boot(t)
	if err != nil {
		s.log.Error("rendering boot script", "mac", q.MAC, "ip", ip, "err", err)
		s.record(q.MAC, inventory.Event{Kind: inventory.EventError, IP: ip,
			Detail: "rendering boot script: " + err.Error()})
		writeError(w, r, http.StatusInternalServerError,
			"cannot render the boot script of "+q.MAC+"; see rackboot's log")
		return
	}
	s.noteInstaller(m.Name, prov)
	// Recorded before the client can read the script and ask for the
	// kernel, so the timeline keeps the boot's order.
	// TODO(#2): a machine stuck in the retry loop (a missing kernel, say)
	// adds a script-served event every RetryDelay; fold the repeats.
	s.record(q.MAC, inventory.Event{Kind: inventory.EventScriptServed, IP: ip, Detail: q.detail()})
	writeScript(w, script)
	s.metrics.script(scriptMachine)
	s.log.Info("boot script served", "mac", q.MAC, "ip", ip, "arch", q.Arch+"/"+q.Platform)
}

// serveUnknown answers a MAC missing from the catalog with a script that
// waits and asks again, and records it as discovered. Repeated asks while
// discovered is still the last event add nothing to the timeline.
func (s *Server) serveUnknown(w http.ResponseWriter, r *http.Request, q bootQuery, ip netip.Addr) {
	script, err := s.scripts.Unknown(q.MAC)
	if err != nil {
		s.log.Error("rendering unknown script", "mac", q.MAC, "err", err)
		writeError(w, r, http.StatusInternalServerError,
			"cannot render a script; see rackboot's log")
		return
	}
	s.recordDiscovered(q, ip)
	writeScript(w, script)
	s.metrics.script(scriptUnknown)
}

func (s *Server) recordDiscovered(q bootQuery, ip netip.Addr) {
	st, err := s.inv.Status(q.MAC)
	if err == nil && st.LastEvent.Kind == inventory.EventDiscovered {
		s.log.Debug("unknown machine asked again", "mac", q.MAC, "ip", ip)
		return
	}
	if err != nil && !errors.Is(err, inventory.ErrNotFound) {
		s.log.Warn("reading status", "mac", q.MAC, "err", err)
	}
	s.record(q.MAC, inventory.Event{Kind: inventory.EventDiscovered, IP: ip, Detail: q.detail()})
	s.log.Info("unknown machine asked for a script", "mac", q.MAC, "ip", ip)
}

// record appends e to the timeline of mac. A store failure is logged, not
// returned: the client already has its answer.
func (s *Server) record(mac string, e inventory.Event) {
	if _, err := s.inv.Record(mac, e); err != nil {
		s.log.Error("recording event", "mac", mac, "err", err)
	}
}

// writeScript sends an iPXE script, never cached.
func writeScript(w http.ResponseWriter, script []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(script)
}
