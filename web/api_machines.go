package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

// maxMachineBody bounds the body of the routes that declare a machine.
const maxMachineBody = 16 << 10

// Declarations is what the routes that declare, change and reject
// machines need of the server's Inventory; *inventory.Inventory
// implements it. The server looks for it on its Inventory: one without it
// answers those routes 501. Its methods are called from many requests at
// once; errors wrap inventory.ErrReadOnly, ErrInvalid, ErrConflict or
// ErrNotFound.
type Declarations interface {
	// AddMachine declares a new machine; PutMachine creates or replaces
	// one. Both return it as declared.
	AddMachine(m inventory.Machine) (inventory.Machine, error)
	PutMachine(m inventory.Machine) (inventory.Machine, error)
	// DeleteMachine deletes a machine declared through the API.
	DeleteMachine(name string) error
	// Reject makes rackboot ignore a MAC's DHCP; Unreject undoes it.
	Reject(mac string) error
	Unreject(mac string) error
}

// declareRoutes adds, under /api/v1/machines, the routes that change
// declarations. {mac} is a MAC, or for PUT and DELETE a machine's name.
func (s *Server) declareRoutes(r chi.Router) {
	r.Post("/", s.postMachine)
	r.Put("/{mac}", s.putMachine)
	r.Delete("/{mac}", s.deleteMachine)
	r.Post("/{mac}/accept", s.postAccept)
	r.Post("/{mac}/reject", s.postReject)
	r.Delete("/{mac}/reject", s.deleteReject)
}

// MachineRequest is the body of POST /api/v1/machines and PUT
// /api/v1/machines/{name}.
type MachineRequest struct {
	Name    string            `json:"name"`
	MACs    []string          `json:"macs"`
	Profile string            `json:"profile"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Address is the IPv4 address reserved in authoritative mode; empty
	// means none.
	Address string `json:"address,omitempty"`
	// Arch overrides the architecture the machine claims; empty means
	// none.
	Arch inventory.Arch `json:"arch,omitempty"`
}

// AcceptRequest is the body of POST /api/v1/machines/{mac}/accept: a
// MachineRequest whose one MAC is the route's.
type AcceptRequest struct {
	Name    string            `json:"name"`
	Profile string            `json:"profile"`
	Labels  map[string]string `json:"labels,omitempty"`
	Address string            `json:"address,omitempty"`
	Arch    inventory.Arch    `json:"arch,omitempty"`
}

// machine returns the declaration mr asks for.
func (mr MachineRequest) machine() (inventory.Machine, error) {
	m := inventory.Machine{Name: mr.Name, MACs: mr.MACs, Profile: mr.Profile,
		Labels: mr.Labels, Arch: mr.Arch}
	if mr.Address == "" {
		return m, nil
	}
	a, err := netip.ParseAddr(mr.Address)
	if err != nil || !a.Is4() {
		return m, fmt.Errorf("address: %q is not an IPv4 address", truncate(mr.Address))
	}
	m.Address = a
	return m, nil
}

// postMachine answers POST /api/v1/machines: 201 and the new machine.
func (s *Server) postMachine(w http.ResponseWriter, r *http.Request) {
	var body MachineRequest
	d, ok := s.declareRequest(w, r, &body)
	if !ok {
		return
	}
	m, ok := s.machineFrom(w, r, body)
	if !ok {
		return
	}
	got, err := d.AddMachine(m)
	s.answerDeclared(w, r, got, err, http.StatusCreated)
}

// putMachine answers PUT /api/v1/machines/{name}: 200 and the machine,
// or 201 when it did not exist. {name} may be a MAC of the machine, in
// the catalog or left out of it. The body's name, if given, must be the
// machine's.
func (s *Server) putMachine(w http.ResponseWriter, r *http.Request) {
	name, exists, ok := s.putTarget(w, r)
	if !ok {
		return
	}
	var body MachineRequest
	d, ok := s.declareRequest(w, r, &body)
	if !ok {
		return
	}
	if body.Name != "" && body.Name != name {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("name: %q is not %q, the "+
			"machine of the path; delete and create to rename", truncate(body.Name), name))
		return
	}
	body.Name = name
	m, ok := s.machineFrom(w, r, body)
	if !ok {
		return
	}
	code := http.StatusCreated
	if exists {
		code = http.StatusOK
	}
	got, err := d.PutMachine(m)
	s.answerDeclared(w, r, got, err, code)
}

// putTarget returns the name of the machine PUT {name} replaces, or
// creates when exists is false. A MAC nothing declares is a 404: PUT
// creates machines by name only; the inventory checks any other name.
func (s *Server) putTarget(w http.ResponseWriter, r *http.Request) (name string, exists, ok bool) {
	raw, err := url.PathUnescape(chi.URLParam(r, "mac"))
	if err != nil {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("unescaping the path: %v", err))
		return "", false, false
	}
	ref, err := s.lookup(raw)
	switch {
	case ref.m.Name != "":
		return ref.m.Name, true, true
	case ref.mac != "":
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("no machine has the MAC %s; "+
			"PUT /api/v1/machines/{name} creates a machine by name", ref.mac))
		return "", false, false
	}
	if _, perr := inventory.NormalizeMAC(raw); perr == nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return "", false, false
	}
	return raw, false, true
}

// deleteMachine answers DELETE /api/v1/machines/{name} with 204. {name}
// may be a MAC of the machine, in the catalog or left out of it.
func (s *Server) deleteMachine(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.refParam(w, r)
	if !ok {
		return
	}
	if ref.m.Name == "" {
		writeError(w, r, http.StatusNotFound, "no machine has the MAC "+ref.mac)
		return
	}
	d, ok := s.declareRequest(w, r, nil)
	if !ok {
		return
	}
	if err := d.DeleteMachine(ref.m.Name); err != nil {
		s.writeInventoryError(w, r, err)
		return
	}
	s.log.Info("machine deleted", "machine", ref.m.Name, "by", actor(r))
	w.WriteHeader(http.StatusNoContent)
}

// postAccept answers POST /api/v1/machines/{mac}/accept: the MAC becomes
// a machine declared through the API, and its rejection, if any, ends.
func (s *Server) postAccept(w http.ResponseWriter, r *http.Request) {
	mac, ok := s.macParam(w, r)
	if !ok {
		return
	}
	var body AcceptRequest
	d, ok := s.declareRequest(w, r, &body)
	if !ok {
		return
	}
	m, ok := s.machineFrom(w, r, MachineRequest{Name: body.Name, MACs: []string{mac},
		Profile: body.Profile, Labels: body.Labels, Address: body.Address, Arch: body.Arch})
	if !ok {
		return
	}
	got, err := d.AddMachine(m)
	if err == nil {
		s.recordDecision(mac, inventory.EventAccepted, fmt.Sprintf("by %s: name=%s profile=%s",
			actor(r), got.Name, got.Profile))
	}
	s.answerDeclared(w, r, got, err, http.StatusCreated)
}

// recordDecision puts an operator's decision on the MAC's timeline, where
// every dashboard following the event stream sees it. The decision took
// effect already: a failure to record it is logged, not answered.
func (s *Server) recordDecision(mac string, kind inventory.EventKind, detail string) {
	if _, err := s.inv.Record(mac, inventory.Event{Kind: kind, Detail: detail}); err != nil {
		s.log.Error("recording a decision", "mac", mac, "err", err)
	}
}

// postReject answers POST /api/v1/machines/{mac}/reject (body empty or
// {}) with 204: rackboot ignores the MAC's DHCP from now on.
func (s *Server) postReject(w http.ResponseWriter, r *http.Request) {
	s.rejection(w, r, true)
}

// deleteReject answers DELETE /api/v1/machines/{mac}/reject with 204,
// or 404 when the MAC was not rejected.
func (s *Server) deleteReject(w http.ResponseWriter, r *http.Request) {
	s.rejection(w, r, false)
}

func (s *Server) rejection(w http.ResponseWriter, r *http.Request, reject bool) {
	mac, ok := s.macParam(w, r)
	if !ok {
		return
	}
	d, ok := s.declareRequest(w, r, &struct{}{})
	if !ok {
		return
	}
	change, verb, kind := d.Unreject, "mac unrejected", inventory.EventUnrejected
	if reject {
		change, verb, kind = d.Reject, "mac rejected", inventory.EventRejected
	}
	// A rejection made again changes nothing, so it goes on no timeline.
	again := reject && s.inv.Catalog().Rejected(mac)
	if err := change(mac); err != nil {
		s.writeInventoryError(w, r, err)
		return
	}
	if !again {
		s.log.Info(verb, "mac", mac, "by", actor(r))
		s.recordDecision(mac, kind, "by "+actor(r))
	}
	w.WriteHeader(http.StatusNoContent)
}

// declareRequest finds the inventory's Declarations and decodes the body
// into v (nil: no body), or answers the error.
func (s *Server) declareRequest(w http.ResponseWriter, r *http.Request, v any) (Declarations, bool) {
	d, ok := s.inv.(Declarations)
	if !ok {
		writeError(w, r, http.StatusNotImplemented, "this inventory cannot declare machines")
		return nil, false
	}
	if v == nil {
		return d, true
	}
	if err := decodeBody(w, r, v, maxMachineBody, false); err != nil {
		code := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
		}
		writeError(w, r, code, err.Error())
		return nil, false
	}
	return d, true
}

// machineFrom returns the machine body asks for, or answers 400.
func (s *Server) machineFrom(w http.ResponseWriter, r *http.Request,
	body MachineRequest) (inventory.Machine, bool) {
	m, err := body.machine()
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return m, false
	}
	return m, true
}

// answerDeclared answers a declaration: code and the machine's view, or
// the inventory's error.
func (s *Server) answerDeclared(w http.ResponseWriter, r *http.Request,
	m inventory.Machine, err error, code int) {
	if err != nil {
		s.writeInventoryError(w, r, err)
		return
	}
	s.log.Info("machine declared", "machine", m.Name, "mac", m.MACs[0], "by", actor(r))
	info, events, err := s.declaredInfoOf(m)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.enrich(&info, events)
	w.Header().Set("Location", "/api/v1/machines/"+url.PathEscape(m.Name))
	writeJSON(w, code, info)
}
