package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/ipxe"
)

// Explanation is the body of GET /api/v1/machines/{mac}/explain: what a
// machine gets when it boots now, rendered as rackboot would serve it,
// with every secret redacted.
type Explanation struct {
	// Machine is the machine's view; null for a MAC nothing declares and
	// the network never showed.
	Machine *MachineInfo `json:"machine"`
	// MAC is the MAC the script is rendered for.
	MAC string `json:"mac"`
	// Profile is the machine's profile, its Butane snippet redacted; null
	// for a machine no profile matches.
	Profile *inventory.Profile `json:"profile"`
	// Arch is the architecture the script is rendered for, and EFI
	// whether that is UEFI firmware (iPXE's ${platform} "efi").
	Arch inventory.Arch `json:"arch"`
	EFI  bool           `json:"efi"`
	// Script is the exact iPXE script /ipxe serves the machine, or ""
	// when rendering fails (Notes says why).
	Script string `json:"script"`
	// Ignition is the config /ignition would serve, secrets redacted;
	// null when there is none (Notes says why).
	Ignition json.RawMessage `json:"ignition"`
	// Notes explain the choices, in plain words.
	Notes []string `json:"notes"`
}

// getExplain answers GET /api/v1/machines/{mac}/explain[?arch=]; {mac} is
// a MAC or a machine's name. arch renders the script for that
// architecture instead of the one declared or last seen.
func (s *Server) getExplain(w http.ResponseWriter, r *http.Request) {
	archQ, err := archParam(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ref, ok := s.refParam(w, r)
	if !ok {
		return
	}
	x := Explanation{Notes: []string{}}
	switch {
	case ref.m.Name == "":
		s.explainUnknown(w, r, &x, ref.mac, nil)
	case ref.why != nil:
		s.explainLeftOut(w, r, &x, ref, archQ)
	default:
		s.explainDeclared(w, r, &x, ref.m, cmp.Or(ref.mac, ref.m.MACs[0]), archQ)
	}
}

// archParam reads the query of the explain route: nothing, or arch=<one
// of inventory's architectures>.
func archParam(raw string) (inventory.Arch, error) {
	q, err := apiQuery(raw, "arch")
	if err != nil {
		return "", err
	}
	a := inventory.Arch(q["arch"])
	if a != "" && !a.Valid() {
		return "", fmt.Errorf("arch: %q is not one of bios, ia32-efi, x64-efi, arm32-efi, "+
			"arm64-efi, x86-http, x64-http, arm64-http", truncate(string(a)))
	}
	return a, nil
}

func (s *Server) explainDeclared(w http.ResponseWriter, r *http.Request, x *Explanation,
	m inventory.Machine, mac string, archQ inventory.Arch) {
	info, events, err := s.declaredInfoOf(m)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.enrich(&info, events)
	p, _ := s.inv.Catalog().Profile(m.Profile)
	prov, err := s.inv.Provision(m.Name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	shown := redactProfile(p)
	x.Machine, x.MAC, x.Profile = &info, mac, &shown
	x.explainArch(m, info, archQ)
	t := ipxe.Target{MAC: mac, Machine: m, Profile: p, EFI: x.EFI}
	x.explainScript(s.scripts, t, prov)
	s.explainIgnition(r, x, m, p, prov)
	writeJSON(w, http.StatusOK, x)
}

// explainArch picks the architecture: the query's, the declared one, the
// one the machine last claimed, or BIOS.
func (x *Explanation) explainArch(m inventory.Machine, info MachineInfo, archQ inventory.Arch) {
	seen := inventory.Arch(info.ArchSeen)
	switch {
	case archQ != "":
		x.Arch = archQ
		x.Notes = append(x.Notes, "rendered for "+string(archQ)+", as asked")
	case m.Arch != "":
		x.Arch = m.Arch
		x.Notes = append(x.Notes, "rendered for "+string(m.Arch)+", the machine's declared arch")
	case seen.Valid():
		x.Arch = seen
		x.Notes = append(x.Notes, "rendered for "+string(seen)+", the arch the machine last claimed in DHCP")
	default:
		x.Arch = inventory.ArchBIOS
		x.Notes = append(x.Notes, "no arch declared or seen: rendered for bios; "+
			"ask for arch x64-efi (rackboot explain --arch, the API's ?arch=) to see what UEFI firmware gets")
	}
	x.EFI = x.Arch != inventory.ArchBIOS
}

// explainScript renders the script /ipxe serves t's machine now: the
// local-boot one once its generation is installed, else the profile's.
func (x *Explanation) explainScript(sc *ipxe.Scripts, t ipxe.Target, prov inventory.Provision) {
	var script []byte
	var err error
	if _, installed := prov.Steps[inventory.StepInstalled]; installed {
		script, err = sc.Local(t)
		x.Notes = append(x.Notes, fmt.Sprintf("installed in generation %d: the script boots "+
			"the local disk by %s; a reprovision sends the machine to the installer again",
			prov.Generation, ipxe.LocalMethod(t)))
	} else {
		script, err = sc.Boot(t)
		x.Notes = append(x.Notes, fmt.Sprintf("generation %d is not installed: the script "+
			"boots profile %s", prov.Generation, t.Profile.Name))
	}
	if err != nil {
		x.Notes = append(x.Notes, "rendering the script fails, so /ipxe answers 500: "+err.Error())
		return
	}
	x.Script = string(script)
}

// explainIgnition renders the machine's Ignition config as /ignition
// would, and redacts it.
func (s *Server) explainIgnition(r *http.Request, x *Explanation, m inventory.Machine,
	p inventory.Profile, prov inventory.Provision) {
	note := func(format string, args ...any) { x.Notes = append(x.Notes, fmt.Sprintf(format, args...)) }
	switch {
	case p.Ignition == nil:
		note("profile %s has no ignition settings: the machine gets no Ignition config", p.Name)
		return
	case s.ignition == nil:
		note("no Ignition is configured on this server: /ignition answers 404")
		return
	case s.ignition.preview == nil:
		note("this server shows no Ignition preview")
		return
	}
	if _, served := prov.Steps[inventory.StepIgnitionServed]; served {
		note("Ignition was served in generation %d: /ignition refuses it until a reprovision",
			prov.Generation)
	}
	raw, err := s.ignition.preview.Render(r.Context(), m, p, prov.Generation)
	if err != nil {
		note("rendering Ignition fails, so /ignition answers 500: %v", err)
		return
	}
	if x.Ignition, err = redactIgnition(raw); err != nil {
		note("the rendered Ignition config cannot be shown: %v", err)
		return
	}
	note("Ignition secrets (bootstrap token, keys, passwords) are shown as %s; "+
		"the preview mints no token in the cluster", redacted)
}

// explainLeftOut explains a machine the catalog leaves out: its MAC boots
// as one nothing declares, or as the declared machine that has it now.
func (s *Server) explainLeftOut(w http.ResponseWriter, r *http.Request, x *Explanation,
	ref machineRef, archQ inventory.Arch) {
	cat := s.inv.Catalog()
	mac := ref.mac
	if mac == "" {
		mac = ref.m.MACs[0]
		undeclared := func(m string) bool { _, ok := cat.Machine(m); return !ok }
		if i := slices.IndexFunc(ref.m.MACs, undeclared); i >= 0 {
			mac = ref.m.MACs[i]
		}
	}
	x.Notes = append(x.Notes, fmt.Sprintf("machine %s is left out of the catalog since the "+
		"inventory file changed: %v; nothing boots by it until PUT fixes it or DELETE "+
		"removes it", ref.m.Name, ref.why))
	if other, ok := cat.Machine(mac); ok {
		x.Notes = append(x.Notes, fmt.Sprintf("%s is machine %s's now and boots as it", mac, other.Name))
		s.explainDeclared(w, r, x, other, mac, archQ)
		return
	}
	info, events, err := s.refInfo(ref)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.enrich(&info, events)
	s.explainUnknown(w, r, x, mac, &info)
}

// explainUnknown explains a MAC no machine declares: it gets the script
// that waits and asks again. info is the left-out machine that has the
// MAC, or nil for a MAC only discovered or never seen.
func (s *Server) explainUnknown(w http.ResponseWriter, r *http.Request, x *Explanation,
	mac string, info *MachineInfo) {
	x.MAC, x.Machine = mac, info
	if info == nil {
		if seen, events, ok := s.seenView(w, r, mac); !ok {
			return
		} else if seen != nil {
			s.enrich(seen, events)
			x.Machine = seen
		}
	}
	script, err := s.scripts.Unknown(mac)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	x.Script = string(script)
	if info == nil {
		x.Notes = append(x.Notes, "no machine declares "+mac+": it gets this script, which "+
			"waits and asks again; accept it to declare it")
	} else {
		x.Notes = append(x.Notes, mac+" gets the script of a MAC nothing declares, which "+
			"waits and asks again")
	}
	if s.inv.Catalog().Rejected(mac) {
		x.Notes = append(x.Notes, "the MAC is rejected: rackboot ignores its DHCP, so it "+
			"gets this script only if another server boots it into iPXE")
	}
	writeJSON(w, http.StatusOK, x)
}
