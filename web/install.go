package web

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/ipxe"
)

// Install once: a declared machine whose current provisioning generation
// is installed (its OS, booted from the installer, called back) gets the
// local-boot script, so that a reboot never reinstalls it. Only a new
// generation (a reprovision) sends it to the installer again.
//
// A callback marks the generation installed only if that generation was
// served the installer: an OS still running from before a reprovision
// that calls back between the new generation and the power cycle would
// otherwise mark a generation installed that never installed anything.

// serveLocal answers t's machine with the local-boot script and records
// script-served with "local boot" in its detail.
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request, q bootQuery, t ipxe.Target,
	gen uint64, ip netip.Addr) {
	script, err := s.scripts.Local(t)
	if err != nil {
		s.log.Error("rendering local boot script", "mac", q.MAC, "ip", ip, "err", err)
		s.record(q.MAC, inventory.Event{Kind: inventory.EventError, IP: ip,
			Detail: "rendering local boot script: " + err.Error()})
		writeError(w, r, http.StatusInternalServerError,
			"cannot render the local boot script of "+q.MAC+"; see rackboot's log")
		return
	}
	how := ipxe.LocalMethod(t)
	s.record(q.MAC, inventory.Event{Kind: inventory.EventScriptServed, IP: ip,
		Detail: fmt.Sprintf("local boot by %s, installed in generation %d, %s", how, gen, q.detail())})
	writeScript(w, script)
	s.metrics.script(scriptLocal)
	s.log.Info("local boot script served", "mac", q.MAC, "ip", ip, "arch", q.Arch+"/"+q.Platform)
}

// noteInstaller takes the installer-served step of the machine's current
// generation, once. A failure is logged: the boot goes on, and only the
// install-once mark of this generation is lost.
func (s *Server) noteInstaller(name string, prov inventory.Provision) {
	if _, done := prov.Steps[inventory.StepInstallerServed]; done {
		return
	}
	if _, err := s.inv.TakeStep(name, prov.Generation, inventory.StepInstallerServed); err != nil {
		s.log.Error("recording the installer step", "err", err)
	}
}

// markInstalled takes the installed step of the current generation of the
// machine owning mac, if that generation was served the installer. From
// then on its script boots the local disk.
func (s *Server) markInstalled(mac string, ip netip.Addr) {
	m, _, ok := s.inv.Lookup(mac)
	if !ok {
		return
	}
	prov, err := s.inv.Provision(m.Name)
	if err != nil {
		s.log.Error("reading provisioning", "mac", mac, "err", err)
		return
	}
	if _, served := prov.Steps[inventory.StepInstallerServed]; !served {
		s.log.Info("callback without an installer in this generation; not marked installed",
			"mac", mac, "ip", ip)
		return
	}
	taken, err := s.inv.TakeStep(m.Name, prov.Generation, inventory.StepInstalled)
	if err != nil {
		s.log.Error("recording the installed step", "mac", mac, "err", err)
		return
	}
	if taken {
		s.log.Info("machine installed; it boots from its disk from now on", "mac", mac, "ip", ip)
	}
}
