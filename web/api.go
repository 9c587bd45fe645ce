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
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

// Limits of POST /api/v1/machines/{mac}/callback.
const (
	maxCallbackBody = 4 << 10
	maxDetail       = 256
)

// MachineInfo is one machine as the API shows it: its declaration, if the
// catalog has one, joined with its runtime status. It is the element of
// GET /api/v1/machines and the body of GET /api/v1/machines/{mac}.
type MachineInfo struct {
	// Name is empty for a machine the catalog does not declare.
	Name    string            `json:"name"`
	MACs    []string          `json:"macs"`
	Profile string            `json:"profile,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Address is the reserved address (authoritative mode), if any.
	Address netip.Addr     `json:"address,omitzero"`
	Arch    inventory.Arch `json:"arch,omitempty"`
	// State is empty for a declared machine never seen on the network.
	State     inventory.State `json:"state,omitempty"`
	IP        netip.Addr      `json:"ip,omitzero"`
	FirstSeen time.Time       `json:"first_seen,omitzero"`
	// LastEvent is the newest event over all of the machine's MACs.
	LastEvent *inventory.Event `json:"last_event,omitempty"`
	// Node, Diagnosis and Deadline are the registration tracker's view
	// of a declared machine it follows (see Tracked); empty otherwise.
	Node      string    `json:"node,omitempty"`
	Diagnosis string    `json:"diagnosis,omitempty"`
	Deadline  time.Time `json:"deadline,omitzero"`
}

// declaredInfo joins m with the statuses of its MACs found in byMAC.
func declaredInfo(m inventory.Machine, byMAC map[string]inventory.Status) MachineInfo {
	info := MachineInfo{Name: m.Name, MACs: m.MACs, Profile: m.Profile,
		Labels: m.Labels, Address: m.Address, Arch: m.Arch}
	for _, mac := range m.MACs {
		if st, ok := byMAC[mac]; ok {
			info.merge(st)
		}
	}
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

// listMachines answers GET /api/v1/machines: declared machines in catalog
// order, then machines seen but not declared, by MAC.
func (s *Server) listMachines(w http.ResponseWriter, r *http.Request) {
	statuses, err := s.inv.Statuses()
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	byMAC := make(map[string]inventory.Status, len(statuses))
	for _, st := range statuses {
		byMAC[st.MAC] = st
	}
	out := []MachineInfo{}
	for _, m := range s.inv.Catalog().Machines() {
		info := declaredInfo(m, byMAC)
		s.addTracked(&info)
		out = append(out, info)
		for _, mac := range m.MACs {
			delete(byMAC, mac)
		}
	}
	var discovered []MachineInfo
	for mac, st := range byMAC {
		info := MachineInfo{MACs: []string{mac}}
		info.merge(st)
		discovered = append(discovered, info)
	}
	slices.SortFunc(discovered, func(a, b MachineInfo) int {
		return strings.Compare(a.MACs[0], b.MACs[0])
	})
	writeJSON(w, http.StatusOK, append(out, discovered...))
}

// getMachine answers GET /api/v1/machines/{mac}; {mac} may also be the
// name of a declared machine.
func (s *Server) getMachine(w http.ResponseWriter, r *http.Request) {
	if m, ok := s.namedMachine(r); ok {
		s.getDeclared(w, r, m)
		return
	}
	mac, ok := s.macParam(w, r)
	if !ok {
		return
	}
	if m, declared := s.inv.Catalog().Machine(mac); declared {
		s.getDeclared(w, r, m)
		return
	}
	st, err := s.inv.Status(mac)
	if errors.Is(err, inventory.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "no machine has mac "+mac)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	info := MachineInfo{MACs: []string{mac}}
	info.merge(st)
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) getDeclared(w http.ResponseWriter, r *http.Request, m inventory.Machine) {
	byMAC := make(map[string]inventory.Status)
	for _, mac := range m.MACs {
		st, err := s.inv.Status(mac)
		if err != nil && !errors.Is(err, inventory.ErrNotFound) {
			s.internalError(w, r, err)
			return
		}
		if err == nil {
			byMAC[mac] = st
		}
	}
	info := declaredInfo(m, byMAC)
	s.addTracked(&info)
	writeJSON(w, http.StatusOK, info)
}

// namedMachine returns the declared machine the route's {mac} names by
// name.
func (s *Server) namedMachine(r *http.Request) (inventory.Machine, bool) {
	raw, err := url.PathUnescape(chi.URLParam(r, "mac"))
	if err != nil {
		return inventory.Machine{}, false
	}
	for _, m := range s.inv.Catalog().Machines() {
		if m.Name == raw {
			return m, true
		}
	}
	return inventory.Machine{}, false
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
	events := []inventory.Event{}
	for _, mac := range m.MACs {
		tl, err := s.inv.Timeline(mac)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		events = append(events, tl...)
	}
	slices.SortFunc(events, func(a, b inventory.Event) int { return cmp.Compare(a.Seq, b.Seq) })
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
