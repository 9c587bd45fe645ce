package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

// maxBatchBody bounds the body of POST /api/v1/reprovision: some
// thousand machine names.
const maxBatchBody = 64 << 10

// Reprovisioner runs the reprovisioning workflow for the API;
// *provision.Workflow implements it. Its methods are called from many
// requests at once and do not block on machines.
type Reprovisioner interface {
	// Submit queues ms as one rolling batch, at most maxInFlight at once
	// (zero: the workflow's limit). who says who asked.
	Submit(ms []inventory.Machine, maxInFlight int, who string) ([]provision.Job, error)
	// Jobs returns the latest job of every machine submitted.
	Jobs() []provision.Job
	// Job returns the latest job of the machine called name.
	Job(name string) (provision.Job, bool)
}

var _ Reprovisioner = (*provision.Workflow)(nil)

// SetReprovisioner makes the reprovision routes act through p. Call it
// before serving; without it they answer 501 "reprovisioning not
// configured".
func (s *Server) SetReprovisioner(p Reprovisioner) { s.reprov = p }

// provisionRoutes adds, under /api/v1/machines, the routes of one
// machine's reprovision. {name} is a machine's name or one of its MACs.
func (s *Server) provisionRoutes(r chi.Router) {
	r.Post("/{name}/reprovision", s.postReprovision)
	r.Get("/{name}/reprovision", s.getReprovision)
}

// batchRoutes are the routes under /api/v1/reprovision: rolling batches
// and the list of jobs.
func (s *Server) batchRoutes(r chi.Router) {
	r.Post("/", s.postBatch)
	r.Get("/", s.listJobs)
}

// postReprovision answers POST /api/v1/machines/{name}/reprovision (body
// empty or {}) with 202 and the queued job.
func (s *Server) postReprovision(w http.ResponseWriter, r *http.Request) {
	p, ok := s.reprovisioner(w, r)
	if !ok {
		return
	}
	m, ok := s.machineParam(w, r)
	if !ok {
		return
	}
	if err := decodeBody(w, r, &struct{}{}, maxBMCBody, false); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	jobs, err := p.Submit([]inventory.Machine{m}, 0, actor(r))
	if err != nil {
		s.writeSubmitError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, jobs[0])
}

// getReprovision answers GET /api/v1/machines/{name}/reprovision with
// the machine's latest job.
func (s *Server) getReprovision(w http.ResponseWriter, r *http.Request) {
	if !noQuery(w, r) {
		return
	}
	p, ok := s.reprovisioner(w, r)
	if !ok {
		return
	}
	m, ok := s.machineParam(w, r)
	if !ok {
		return
	}
	j, ok := p.Job(m.Name)
	if !ok {
		writeError(w, r, http.StatusNotFound, "no reprovision of "+m.Name+" since rackboot started")
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// BatchRequest is the body of POST /api/v1/reprovision.
type BatchRequest struct {
	// Machines are names or MACs of declared machines, started in order.
	Machines []string `json:"machines"`
	// MaxInFlight caps the batch's machines in flight; zero means the
	// server's limit.
	MaxInFlight int `json:"max_in_flight"`
}

// postBatch answers POST /api/v1/reprovision with 202 and the queued jobs,
// or refuses the whole batch.
func (s *Server) postBatch(w http.ResponseWriter, r *http.Request) {
	p, ok := s.reprovisioner(w, r)
	if !ok {
		return
	}
	var body BatchRequest
	if err := decodeBody(w, r, &body, maxBatchBody, true); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ms, unknown := s.findMachines(body.Machines)
	if len(unknown) > 0 {
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("no declared machine is called or has "+
			"the mac %s", strings.Join(unknown, ", ")))
		return
	}
	jobs, err := p.Submit(ms, body.MaxInFlight, actor(r))
	if err != nil {
		s.writeSubmitError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, jobs)
}

// listJobs answers GET /api/v1/reprovision: the latest job of every
// machine submitted since rackboot started, by name.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	if !noQuery(w, r) {
		return
	}
	if p, ok := s.reprovisioner(w, r); ok {
		writeJSON(w, http.StatusOK, p.Jobs())
	}
}

// noQuery answers 400 for a request that carries query parameters, which
// the route takes none of.
func noQuery(w http.ResponseWriter, r *http.Request) bool {
	if _, err := apiQuery(r.URL.RawQuery); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

func (s *Server) reprovisioner(w http.ResponseWriter, r *http.Request) (Reprovisioner, bool) {
	if s.reprov == nil {
		writeError(w, r, http.StatusNotImplemented, "reprovisioning not configured")
		return nil, false
	}
	return s.reprov, true
}

// findMachines resolves names (or MACs) to declared machines; unknown
// lists those that name none, quoted.
func (s *Server) findMachines(names []string) (ms []inventory.Machine, unknown []string) {
	for _, n := range names {
		m, ok := s.findMachine(n)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", truncate(n)))
			continue
		}
		ms = append(ms, m)
	}
	return ms, unknown
}

// findMachine returns the declared machine called raw, else the one that
// has the MAC raw.
func (s *Server) findMachine(raw string) (inventory.Machine, bool) {
	cat := s.inv.Catalog()
	for _, m := range cat.Machines() {
		if m.Name == raw {
			return m, true
		}
	}
	if mac, err := inventory.NormalizeMAC(raw); err == nil {
		return cat.Machine(mac)
	}
	return inventory.Machine{}, false
}

// machineParam finds the declared machine {name} names, by name first,
// then by MAC, or answers 404.
func (s *Server) machineParam(w http.ResponseWriter, r *http.Request) (inventory.Machine, bool) {
	raw, err := url.PathUnescape(chi.URLParam(r, "name"))
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return inventory.Machine{}, false
	}
	m, ok := s.findMachine(raw)
	if !ok {
		msg := fmt.Sprintf("no declared machine is called %q or has that mac", raw)
		writeError(w, r, http.StatusNotFound, msg)
	}
	return m, ok
}

// writeSubmitError answers a refused submission: 409 for a machine
// already being reprovisioned, 503 for a full queue, a stopped workflow
// or a store that cannot be reached, 400 for a bad batch.
func (s *Server) writeSubmitError(w http.ResponseWriter, r *http.Request, err error) {
	if s.writeUnavailable(w, r, err) {
		return
	}
	code := http.StatusBadRequest
	switch {
	case errors.Is(err, provision.ErrBusy):
		code = http.StatusConflict
	case errors.Is(err, provision.ErrQueueFull), errors.Is(err, provision.ErrStopped):
		code = http.StatusServiceUnavailable
	}
	writeError(w, r, code, err.Error())
}
