package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/rackboot/rackboot/inventory"
)

// maxIgnitionQuery bounds the raw query of /ignition.
const maxIgnitionQuery = 128

// IgnitionRenderer renders a machine's Ignition config.
// *ignition.Renderer implements it. Render is called from many requests
// at once; it returns complete, validated bytes or an error that holds no
// secret.
type IgnitionRenderer interface {
	Render(ctx context.Context, m inventory.Machine, p inventory.Profile, gen uint64) ([]byte, error)
}

// Provisions is what the Ignition endpoint reads and records of a
// machine's provisioning. *inventory.Inventory implements it.
type Provisions interface {
	// Provision returns the provisioning record of the machine called
	// name.
	Provision(name string) (inventory.Provision, error)
	// TakeStep records that generation gen of name took step; false means
	// it already had, or gen is not current.
	TakeStep(name string, gen uint64, step string) (bool, error)
	// Leases returns every stored lease.
	Leases() ([]inventory.Lease, error)
	// PutBootUUID remembers the UUID mac reported with its boot script
	// request; "" forgets it.
	PutBootUUID(mac, uuid string) error
	// BootUUID returns the UUID PutBootUUID last remembered for mac, in
	// canonical form, or "".
	BootUUID(mac string) (string, error)
}

// ignitionSide is what SetIgnition gives the server.
type ignitionSide struct {
	render IgnitionRenderer
	prov   Provisions
	// preview renders for the explain route; nil until
	// SetIgnitionPreview.
	preview IgnitionRenderer
}

// SetIgnition makes the server answer GET /ignition?mac=&uuid= with the
// machine's config from r, once per provisioning generation as p records
// it. Without it /ignition answers 404 "ignition not configured". Call it
// before the server handles requests.
func (s *Server) SetIgnition(r IgnitionRenderer, p Provisions) {
	s.ignition = &ignitionSide{render: r, prov: p}
}

// SetIgnitionPreview makes the explain route show Ignition configs
// rendered by r, which must mint nothing (ignition.NewPreview): explaining
// a machine must not create a bootstrap token in the cluster. Call it
// after SetIgnition; without it the explain route shows no Ignition.
func (s *Server) SetIgnitionPreview(r IgnitionRenderer) {
	if s.ignition != nil {
		s.ignition.preview = r
	}
}

// serveIgnition answers GET /ignition. It serves a declared machine whose
// profile has Ignition settings, only from the address leased to it when
// the store holds a lease for its MAC, only with the UUID it booted with
// when both that and the query's are known, and only once per provisioning
// generation: a later fetch is refused with 403 and recorded. A render
// failure is a 500 with its reason and an error event, never a partial
// config.
func (s *Server) serveIgnition(w http.ResponseWriter, r *http.Request) {
	ig := s.ignition
	if ig == nil {
		writeError(w, r, http.StatusNotFound, "ignition not configured")
		return
	}
	q, err := parseIgnitionQuery(r.URL.RawQuery)
	if err != nil {
		s.log.Debug("bad ignition query", "remote", r.RemoteAddr, "err", err)
		writeError(w, r, http.StatusBadRequest, "bad query: "+err.Error())
		return
	}
	ip := remoteIP(r)
	m, p, ok := s.inv.Lookup(q.MAC)
	if !ok || p.Ignition == nil {
		s.log.Info("no ignition for machine", "mac", q.MAC, "ip", ip)
		s.metrics.ignitionResult(ignitionNotFound)
		writeError(w, r, http.StatusNotFound, "no ignition config for "+q.MAC)
		return
	}
	if reason, err := ig.refusal(q, m.Name, ip); err != nil || reason != "" {
		s.refuseIgnition(w, r, q, ip, reason, err)
		return
	}
	s.renderIgnition(w, r, ig, q, m, p, ip)
}

// refusal says why q.MAC may not have its config now ("" when it may): it
// asks from an address other than its lease's, sends a UUID other than
// the one it booted with, or fetched the config already in this
// generation.
func (ig *ignitionSide) refusal(q ignitionQuery, name string, ip netip.Addr) (string, error) {
	leases, err := ig.prov.Leases()
	if err != nil {
		return "", err
	}
	for _, l := range leases {
		if l.MAC == q.MAC && l.IP != ip {
			return fmt.Sprintf("asked from %s, leased address is %s", ip, l.IP), nil
		}
	}
	booted, err := ig.prov.BootUUID(q.MAC)
	if err != nil {
		return "", err
	}
	if booted != "" && q.UUID != "" && booted != q.UUID {
		return "uuid does not match the one the machine booted with", nil
	}
	prov, err := ig.prov.Provision(name)
	if err != nil {
		return "", err
	}
	if _, done := prov.Steps[inventory.StepIgnitionServed]; done {
		return fmt.Sprintf("already served in generation %d", prov.Generation), nil
	}
	return "", nil
}

// rememberBootUUID keeps the UUID a declared machine sent with its boot
// script request, for serveIgnition to check. It does nothing until
// SetIgnition; a store failure is logged, as the script is served anyway.
func (s *Server) rememberBootUUID(mac, uuid string) {
	if s.ignition == nil {
		return
	}
	if err := s.ignition.prov.PutBootUUID(mac, uuid); err != nil {
		s.log.Error("remembering boot uuid", "mac", mac, "err", err)
	}
}

// renderIgnition renders, takes the one-time step and sends the config.
// The step is taken after rendering so that a failed render leaves the
// machine free to try again, and before sending so that two fetches
// racing each other get one config between them.
func (s *Server) renderIgnition(w http.ResponseWriter, r *http.Request, ig *ignitionSide,
	q ignitionQuery, m inventory.Machine, p inventory.Profile, ip netip.Addr) {
	prov, err := ig.prov.Provision(m.Name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	cfg, err := ig.render.Render(r.Context(), m, p, prov.Generation)
	if err != nil {
		s.log.Error("rendering ignition", "mac", q.MAC, "ip", ip, "err", err)
		s.metrics.ignitionResult(ignitionFailed)
		s.record(q.MAC, inventory.Event{Kind: inventory.EventError, IP: ip,
			Detail: "rendering ignition: " + err.Error()})
		writeError(w, r, http.StatusInternalServerError,
			"cannot render the ignition config of "+m.Name+": "+err.Error())
		return
	}
	taken, err := ig.prov.TakeStep(m.Name, prov.Generation, inventory.StepIgnitionServed)
	if err != nil || !taken {
		s.refuseIgnition(w, r, q, ip, fmt.Sprintf("already served in generation %d",
			prov.Generation), err)
		return
	}
	s.record(q.MAC, inventory.Event{Kind: inventory.EventIgnitionServed, IP: ip,
		Detail: fmt.Sprintf("generation %d%s", prov.Generation, q.detail())})
	w.Header().Set("Content-Type", "application/vnd.coreos.ignition+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(cfg)
	s.metrics.ignitionResult(ignitionServed)
	s.log.Info("ignition served", "mac", q.MAC, "ip", ip, "bytes", len(cfg))
}

// refuseIgnition answers 403 for reason and records it, or 500 when the
// store failed to say.
func (s *Server) refuseIgnition(w http.ResponseWriter, r *http.Request, q ignitionQuery,
	ip netip.Addr, reason string, err error) {
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.log.Info("ignition refused", "mac", q.MAC, "ip", ip, "err", reason)
	s.metrics.ignitionResult(ignitionRefused)
	s.record(q.MAC, inventory.Event{Kind: inventory.EventIgnitionRefused, IP: ip, Detail: reason})
	writeError(w, r, http.StatusForbidden, "ignition refused: "+reason)
}

// ignitionQuery is what a booted machine sends to /ignition.
type ignitionQuery struct {
	MAC  string // canonical form, always set
	UUID string // SMBIOS UUID as iPXE formats it, or ""
}

// parseIgnitionQuery parses the raw query of GET /ignition: mac
// (required) and uuid, each once, checked like the boot query's.
func parseIgnitionQuery(raw string) (ignitionQuery, error) {
	if len(raw) > maxIgnitionQuery {
		return ignitionQuery{}, fmt.Errorf("query is %d bytes, at most %d", len(raw), maxIgnitionQuery)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return ignitionQuery{}, fmt.Errorf("parsing query: %w", err)
	}
	got := map[string]string{}
	for key, vs := range vals {
		if key != "mac" && key != "uuid" {
			return ignitionQuery{}, fmt.Errorf("unknown parameter %+q", truncate(key))
		}
		if got[key], err = queryValue(key, vs); err != nil {
			return ignitionQuery{}, err
		}
	}
	if got["mac"] == "" {
		return ignitionQuery{}, errors.New("mac: required")
	}
	mac, err := inventory.NormalizeMAC(got["mac"])
	if err != nil {
		return ignitionQuery{}, fmt.Errorf("mac: %w", err)
	}
	return ignitionQuery{MAC: mac, UUID: strings.ToLower(got["uuid"])}, nil
}

// detail is the query's part of the timeline note.
func (q ignitionQuery) detail() string {
	if q.UUID == "" {
		return ""
	}
	return " uuid=" + q.UUID
}
