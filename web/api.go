package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

// Limits of POST /api/v1/machines/{mac}/callback.
const (
	maxCallbackBody = 4 << 10
	maxDetail       = 256
)

// MachineInfo is one machine as the API shows it: its declaration, if the
// catalog has one, joined with its runtime status and what its timeline
// tells. It is the element of GET /api/v1/machines and the body of GET
// /api/v1/machines/{mac}.
type MachineInfo struct {
	// Name is empty for a machine the catalog does not declare.
	Name    string            `json:"name"`
	MACs    []string          `json:"macs"`
	Profile string            `json:"profile,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Address is the reserved address (authoritative mode), if any.
	Address netip.Addr     `json:"address,omitzero"`
	Arch    inventory.Arch `json:"arch,omitempty"`
	// Source is where the declaration comes from: "file", "api", or ""
	// for a machine only discovered on the network.
	Source inventory.Source `json:"source"`
	// ReadOnly is set for the inventory file's machines, which the API
	// cannot change.
	ReadOnly bool `json:"read_only"`
	// Rejected is set for a MAC whose DHCP rackboot ignores.
	Rejected bool `json:"rejected"`
	// State is empty for a declared machine never seen on the network.
	State     inventory.State `json:"state,omitempty"`
	IP        netip.Addr      `json:"ip,omitzero"`
	FirstSeen time.Time       `json:"first_seen,omitzero"`
	// LastEvent is the newest event over all of the machine's MACs.
	LastEvent *inventory.Event `json:"last_event,omitempty"`
	// Power is the last power state a BMC operation read: "on", "off",
	// "powering-on", "powering-off", or "" when none did.
	Power bmc.PowerState `json:"power"`
	// ArchSeen, VendorClass and Relay are what the machine showed of
	// itself in its newest DHCP exchange: the architecture it claimed,
	// its vendor class (option 60), and the relay it came through.
	ArchSeen    string `json:"arch_seen,omitempty"`
	VendorClass string `json:"vendor_class,omitempty"`
	Relay       *Relay `json:"relay,omitempty"`
	// Node, Diagnosis and Deadline are the registration tracker's view
	// of a declared machine it follows (see Tracked); empty otherwise.
	Node      string    `json:"node,omitempty"`
	Diagnosis string    `json:"diagnosis,omitempty"`
	Deadline  time.Time `json:"deadline,omitzero"`
}

// Relay is the DHCP relay a machine's requests came through: its address
// (giaddr) and, when the relay added option 82 (RFC 3046), the circuit and
// remote ids, as text or "0x" and hex.
type Relay struct {
	CircuitID string     `json:"circuit_id,omitempty"`
	RemoteID  string     `json:"remote_id,omitempty"`
	GIAddr    netip.Addr `json:"giaddr,omitzero"`
}

// declaredInfo joins m with the statuses of its MACs found in byMAC.
func declaredInfo(m inventory.Machine, byMAC map[string]inventory.Status) MachineInfo {
	info := MachineInfo{Name: m.Name, MACs: m.MACs, Profile: m.Profile,
		Labels: m.Labels, Address: m.Address, Arch: m.Arch,
		Source: m.Source, ReadOnly: m.Source == inventory.SourceFile}
	for _, mac := range m.MACs {
		if st, ok := byMAC[mac]; ok {
			info.merge(st)
		}
	}
	return info
}

// discoveredInfo is the view of a MAC the catalog does not declare.
func discoveredInfo(st inventory.Status, c *inventory.Catalog) MachineInfo {
	info := MachineInfo{MACs: []string{st.MAC}, Rejected: c.Rejected(st.MAC)}
	info.merge(st)
	return info
}

// merge folds one MAC's status in: the newest event gives the state and
// address, the oldest sighting gives FirstSeen.
func (mi *MachineInfo) merge(st inventory.Status) {
	if mi.FirstSeen.IsZero() || st.FirstSeen.Before(mi.FirstSeen) {
		mi.FirstSeen = st.FirstSeen
	}
	if mi.LastEvent != nil && mi.LastEvent.Seq > st.LastEvent.Seq {
		return
	}
	last := st.LastEvent
	mi.LastEvent, mi.State, mi.IP = &last, st.State, st.IP
}

// MachineDetail is the body of GET /api/v1/machines/{mac}?timeline=1: the
// machine and the events of all its MACs, oldest first.
type MachineDetail struct {
	MachineInfo
	Timeline []inventory.Event `json:"timeline"`
}

// getMachine answers GET /api/v1/machines/{mac}; {mac} may also be the
// name of a declared machine. With ?timeline=1 the body adds the
// machine's timeline.
func (s *Server) getMachine(w http.ResponseWriter, r *http.Request) {
	withTimeline, err := timelineParam(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	info, events, ok := s.machineView(w, r)
	if !ok {
		return
	}
	s.enrich(&info, events)
	if !withTimeline {
		writeJSON(w, http.StatusOK, info)
		return
	}
	if events == nil {
		events = []inventory.Event{}
	}
	writeJSON(w, http.StatusOK, MachineDetail{MachineInfo: info, Timeline: events})
}

// timelineParam reads the query of GET /api/v1/machines/{mac}: nothing,
// or timeline=1 (or true, or 0, or false).
func timelineParam(raw string) (bool, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return false, fmt.Errorf("parsing query: %w", err)
	}
	for key := range vals {
		if key != "timeline" {
			return false, fmt.Errorf("unknown parameter %+q", truncate(key))
		}
	}
	switch v := vals.Get("timeline"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, fmt.Errorf("timeline: %q is not 1 or 0", truncate(v))
	}
}

// machineView finds the machine {mac} names, by name or MAC, and returns
// its view and timeline (oldest first), or answers 400 or 404.
func (s *Server) machineView(w http.ResponseWriter, r *http.Request) (MachineInfo, []inventory.Event, bool) {
	cat := s.inv.Catalog()
	if m, ok := s.namedMachine(r); ok {
		return s.declaredView(w, r, m)
	}
	mac, ok := s.macParam(w, r)
	if !ok {
		return MachineInfo{}, nil, false
	}
	if m, declared := cat.Machine(mac); declared {
		return s.declaredView(w, r, m)
	}
	info, events, ok := s.seenView(w, r, mac)
	if ok && info == nil {
		writeError(w, r, http.StatusNotFound, "no machine has mac "+mac)
		return MachineInfo{}, nil, false
	}
	if !ok {
		return MachineInfo{}, nil, false
	}
	return *info, events, true
}

// seenView returns the view and timeline of mac, which no machine
// declares; nil when the network never showed it. It answers 500 and
// returns false when the store fails.
func (s *Server) seenView(w http.ResponseWriter, r *http.Request,
	mac string) (*MachineInfo, []inventory.Event, bool) {
	st, err := s.inv.Status(mac)
	if errors.Is(err, inventory.ErrNotFound) {
		return nil, nil, true
	}
	events, terr := s.inv.Timeline(mac)
	if err = errors.Join(err, terr); err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	info := discoveredInfo(st, s.inv.Catalog())
	return &info, events, true
}

func (s *Server) declaredView(w http.ResponseWriter, r *http.Request,
	m inventory.Machine) (MachineInfo, []inventory.Event, bool) {
	info, events, err := s.declaredInfoOf(m)
	if err != nil {
		s.internalError(w, r, err)
		return MachineInfo{}, nil, false
	}
	return info, events, true
}

// declaredInfoOf returns the view of the declared machine m and its
// timeline, oldest first.
func (s *Server) declaredInfoOf(m inventory.Machine) (MachineInfo, []inventory.Event, error) {
	byMAC := make(map[string]inventory.Status)
	for _, mac := range m.MACs {
		st, err := s.inv.Status(mac)
		if err != nil && !errors.Is(err, inventory.ErrNotFound) {
			return MachineInfo{}, nil, err
		}
		if err == nil {
			byMAC[mac] = st
		}
	}
	events, err := s.timelineOf(m.MACs)
	if err != nil {
		return MachineInfo{}, nil, err
	}
	info := declaredInfo(m, byMAC)
	s.addTracked(&info)
	return info, events, nil
}

// timelineOf returns the events of every MAC in macs, in the order they
// were recorded.
func (s *Server) timelineOf(macs []string) ([]inventory.Event, error) {
	var events []inventory.Event
	for _, mac := range macs {
		tl, err := s.inv.Timeline(mac)
		if err != nil {
			return nil, err
		}
		events = append(events, tl...)
	}
	if len(macs) > 1 {
		slices.SortFunc(events, func(a, b inventory.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return events, nil
}

// namedMachine returns the declared machine the route's {mac} names by
// name.
func (s *Server) namedMachine(r *http.Request) (inventory.Machine, bool) {
	raw, err := url.PathUnescape(chi.URLParam(r, "mac"))
	if err != nil {
		return inventory.Machine{}, false
	}
	return s.inv.Catalog().Named(raw)
}

// getTimeline answers GET /api/v1/machines/{mac}/timeline, oldest first.
func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request) {
	raw, _ := url.PathUnescape(chi.URLParam(r, "mac"))
	if m, ok := s.findMachine(raw); ok && m.Name == raw {
		s.machineTimeline(w, r, m)
		return
	}
	mac, ok := s.macParam(w, r)
	if !ok {
		return
	}
	events, err := s.inv.Timeline(mac)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if _, declared := s.inv.Catalog().Machine(mac); len(events) == 0 && !declared {
		writeError(w, r, http.StatusNotFound, "no machine has mac "+mac)
		return
	}
	if events == nil {
		events = []inventory.Event{}
	}
	writeJSON(w, http.StatusOK, events)
}

// machineTimeline answers the timeline of a declared machine asked for by
// name: the events of all its MACs, in the order they were recorded.
func (s *Server) machineTimeline(w http.ResponseWriter, r *http.Request, m inventory.Machine) {
	events, err := s.timelineOf(m.MACs)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if events == nil {
		events = []inventory.Event{}
	}
	writeJSON(w, http.StatusOK, events)
}

// postCallback answers POST /api/v1/machines/{mac}/callback, the booted
// OS saying it is up: event os-callback with the client's address. A JSON
// body {"detail": "..."} adds a note; other bodies are ignored.
func (s *Server) postCallback(w http.ResponseWriter, r *http.Request) {
	mac, ok := s.macParam(w, r)
	if !ok {
		return
	}
	detail, code, err := readCallback(w, r)
	if err != nil {
		s.log.Debug("bad callback", "mac", mac, "remote", r.RemoteAddr, "err", err)
		writeError(w, r, code, err.Error())
		return
	}
	ip := remoteIP(r)
	e := inventory.Event{Kind: inventory.EventOSCallback, IP: ip, Detail: detail}
	if _, err := s.inv.Record(mac, e); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.log.Info("os called back", "mac", mac, "ip", ip)
	s.markInstalled(mac, ip)
	w.WriteHeader(http.StatusNoContent)
}

// readCallback reads at most maxCallbackBody bytes of body and returns the
// detail of a JSON body, with the status code to answer on error.
func readCallback(w http.ResponseWriter, r *http.Request) (string, int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = fmt.Errorf("body over %d bytes", maxCallbackBody)
		return "", http.StatusRequestEntityTooLarge, err
	}
	if err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("reading body: %w", err)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" || len(body) == 0 {
		return "", 0, nil
	}
	var msg struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("decoding body: %w", err)
	}
	if err := checkDetail(msg.Detail); err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("detail: %w", err)
	}
	return msg.Detail, 0, nil
}

func checkDetail(d string) error {
	if len(d) > maxDetail {
		return fmt.Errorf("%d bytes, at most %d", len(d), maxDetail)
	}
	for _, c := range d {
		if !unicode.IsPrint(c) || c == utf8.RuneError {
			return fmt.Errorf("character %+q is not printable", c)
		}
	}
	return nil
}

// macParam returns the canonical {mac} of the route, or answers 400.
func (s *Server) macParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	raw, err := url.PathUnescape(chi.URLParam(r, "mac"))
	if err == nil {
		var mac string
		if mac, err = nicMAC(raw); err == nil {
			return mac, true
		}
	}
	writeError(w, r, http.StatusBadRequest, err.Error())
	return "", false
}

// internalError answers 500 for a failure on rackboot's side.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("serving api", "path", r.URL.Path, "err", err)
	writeError(w, r, http.StatusInternalServerError, "internal error; see rackboot's log")
}
