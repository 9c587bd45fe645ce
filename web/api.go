package web

import (
	"bytes"
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
	// Conflict, set only for a machine declared through the API, says
	// why the catalog leaves it out since the inventory file changed:
	// its name, a MAC or its address is the file's now, or its profile
	// is gone. Such a machine boots as undeclared until changed or
	// deleted.
	Conflict string `json:"conflict,omitempty"`
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
	var sts []inventory.Status
	for _, mac := range m.MACs {
		if st, ok := byMAC[mac]; ok {
			sts = append(sts, st)
		}
	}
	info.merge(sts)
	return info
}

// discoveredInfo is the view of a MAC the catalog does not declare.
func discoveredInfo(st inventory.Status, c *inventory.Catalog) MachineInfo {
	info := MachineInfo{MACs: []string{st.MAC}, Rejected: c.Rejected(st.MAC)}
	info.merge([]inventory.Status{st})
	return info
}

// merge folds the statuses of the machine's MACs in: the newest event
// gives LastEvent; of the MACs the network showed, the newest gives the
// state and address and the oldest FirstSeen. A status without a state
// is of a MAC known only by an operator's decisions: the machine was
// never seen there.
func (mi *MachineInfo) merge(sts []inventory.Status) {
	var stateSeq uint64
	for _, st := range sts {
		if mi.LastEvent == nil || st.LastEvent.Seq > mi.LastEvent.Seq {
			last := st.LastEvent
			mi.LastEvent = &last
		}
		if st.State == "" {
			continue
		}
		if !st.FirstSeen.IsZero() && (mi.FirstSeen.IsZero() || st.FirstSeen.Before(mi.FirstSeen)) {
			mi.FirstSeen = st.FirstSeen
		}
		if mi.State == "" || st.LastEvent.Seq > stateSeq {
			mi.State, mi.IP, stateSeq = st.State, st.IP, st.LastEvent.Seq
		}
	}
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
	ref, ok := s.refParam(w, r)
	if !ok {
		return
	}
	info, events, ok := s.machineView(w, r, ref)
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
	q, err := apiQuery(raw, "timeline")
	if err != nil {
		return false, err
	}
	switch v := q["timeline"]; v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, fmt.Errorf("timeline: %q is not 1, 0, true or false", truncate(v))
	}
}

// machineView returns the view and timeline (oldest first) of the
// machine ref names, or answers 404 for a MAC nothing declares and the
// network never showed, or 500.
func (s *Server) machineView(w http.ResponseWriter, r *http.Request,
	ref machineRef) (MachineInfo, []inventory.Event, bool) {
	if ref.m.Name != "" {
		info, events, err := s.refInfo(ref)
		if err != nil {
			s.internalError(w, r, err)
			return MachineInfo{}, nil, false
		}
		return info, events, true
	}
	info, events, ok := s.seenView(w, r, ref.mac)
	if ok && info == nil {
		writeError(w, r, http.StatusNotFound, "no machine has the MAC "+ref.mac)
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

// refInfo returns the view of the machine ref names, declared or left
// out, and its timeline.
func (s *Server) refInfo(ref machineRef) (MachineInfo, []inventory.Event, error) {
	if ref.why == nil {
		return s.declaredInfoOf(ref.m)
	}
	return s.leftOutInfoOf(inventory.LeftOut{Machine: ref.m, Reason: ref.why})
}

// declaredInfoOf returns the view of the declared machine m and its
// timeline, oldest first.
func (s *Server) declaredInfoOf(m inventory.Machine) (MachineInfo, []inventory.Event, error) {
	info, events, err := s.infoOf(m)
	if err == nil {
		s.addTracked(&info)
	}
	return info, events, err
}

// leftOutInfoOf is declaredInfoOf for a machine the catalog leaves out;
// the tracker follows none.
func (s *Server) leftOutInfoOf(lo inventory.LeftOut) (MachineInfo, []inventory.Event, error) {
	info, events, err := s.infoOf(lo.Machine)
	info.Conflict = lo.Reason.Error()
	return info, events, err
}

// infoOf returns the view of m, joined with the statuses of its MACs,
// and its timeline.
func (s *Server) infoOf(m inventory.Machine) (MachineInfo, []inventory.Event, error) {
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
	return declaredInfo(m, byMAC), events, nil
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

// getTimeline answers GET /api/v1/machines/{mac}/timeline, oldest first:
// the events of every MAC of a machine asked for by name, of the one MAC
// asked for by MAC.
func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request) {
	if _, err := apiQuery(r.URL.RawQuery); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ref, ok := s.refParam(w, r)
	if !ok {
		return
	}
	macs := ref.m.MACs
	if ref.mac != "" {
		macs = []string{ref.mac}
	}
	events, err := s.timelineOf(macs)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if len(events) == 0 && ref.m.Name == "" {
		writeError(w, r, http.StatusNotFound, "no machine has the MAC "+ref.mac)
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
	// A booted OS's tools label a body as they please (curl -d and
	// busybox wget --post-data say it is a form): a body that looks like
	// a JSON object is read as one whatever its Content-Type; any other
	// body that is not labelled JSON (a script posting its own form) is
	// accepted without a detail.
	trimmed := bytes.TrimSpace(body)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if len(trimmed) == 0 || (mt != "application/json" && trimmed[0] != '{') {
		return "", 0, nil
	}
	var msg struct {
		Detail string `json:"detail"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(&msg)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err != nil {
		return "", http.StatusBadRequest, fmt.Errorf(
			`body: want nothing or a JSON object such as {"detail": "text"}: %s`, callbackFault(err))
	}
	if err := checkDetail(msg.Detail); err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("detail: %w", err)
	}
	return msg.Detail, 0, nil
}

// callbackFault says what is wrong with a callback body in the client's
// terms, not Go's.
func callbackFault(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("%s: want a %s, not a %s", typ.Field, typ.Type.Kind(), typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("got %s instead of an object", typ.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
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

// internalError answers 500 for a failure on rackboot's side, or 503
// when the store could not be reached (writeUnavailable).
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if s.writeUnavailable(w, r, err) {
		return
	}
	s.log.Error("serving api", "path", r.URL.Path, "err", err)
	writeError(w, r, http.StatusInternalServerError, "internal error; see rackboot's log")
}
