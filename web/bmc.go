package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

// Limits of the BMC routes.
const (
	maxBMCBody = 4 << 10
	// bmcWriteTimeout replaces the server's write timeout for BMC
	// requests: a power off waits for the OS to shut down.
	bmcWriteTimeout = 15 * time.Minute
	// bmcTimeout bounds an operation, waiting for its BMC included.
	bmcTimeout = bmcWriteTimeout - time.Minute
)

// BMC drives machines' BMCs for the API; *bmc.Controller implements it.
// Its methods are called from many requests at once, and each records
// the operation on the machine's timeline itself.
type BMC interface {
	// Power runs a power action on m's BMC.
	Power(ctx context.Context, m inventory.Machine, a bmc.Action, who string) (bmc.Result, error)
	// BootNetwork sets m's next boot (or every boot, if persistent) to
	// the network.
	BootNetwork(ctx context.Context, m inventory.Machine, persistent bool,
		who string) (bmc.Result, error)
}

var _ BMC = (*bmc.Controller)(nil)

// SetBMC makes the power and pxe-once routes act through b. Call it
// before serving; without it those routes answer 501 "no BMC configured".
func (s *Server) SetBMC(b BMC) { s.bmc = b }

// BMCResult is the body of a successful power or pxe-once answer.
type BMCResult struct {
	Machine  string                `json:"machine"`
	Action   string                `json:"action"`
	Protocol inventory.BMCProtocol `json:"protocol,omitempty"`
	// Power is the power state read after the action, when read.
	Power      bmc.PowerState `json:"power,omitempty"`
	Detail     string         `json:"detail,omitempty"`
	DurationMS int64          `json:"duration_ms"`
}

// bmcRoutes adds, under /api/v1/machines, the routes that act through
// machines' BMCs. {name} is a machine's name or one of its MACs.
func (s *Server) bmcRoutes(r chi.Router) {
	r.Post("/{name}/power", s.postPower)
	r.Post("/{name}/pxe-once", s.postPXEOnce)
}

// postPower answers POST /api/v1/machines/{name}/power with a JSON body
// {"action": "status|on|off|cycle|reset"}.
func (s *Server) postPower(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Action string `json:"action"`
	}
	b, m, ok := s.bmcRequest(w, r, &body, true)
	if !ok {
		return
	}
	a, err := bmc.ParseAction(body.Action)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := bmcContext(r)
	defer cancel()
	res, err := b.Power(ctx, m, a, actor(r))
	writeBMCResult(w, r, res, err)
}

// postPXEOnce answers POST /api/v1/machines/{name}/pxe-once; an optional
// JSON body {"persistent": true} keeps the network first for every boot.
func (s *Server) postPXEOnce(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Persistent bool `json:"persistent"`
	}
	b, m, ok := s.bmcRequest(w, r, &body, false)
	if !ok {
		return
	}
	ctx, cancel := bmcContext(r)
	defer cancel()
	res, err := b.BootNetwork(ctx, m, body.Persistent, actor(r))
	writeBMCResult(w, r, res, err)
}

// bmcContext outlives a client that hangs up, so that the operation
// completes and lands on the timeline, but not bmcTimeout.
func bmcContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), bmcTimeout)
}

// bmcRequest finds the BMC driver and the machine and decodes the body
// into v, or answers the error.
func (s *Server) bmcRequest(w http.ResponseWriter, r *http.Request, v any,
	bodyRequired bool) (BMC, inventory.Machine, bool) {
	b := s.bmc
	if b == nil {
		writeError(w, r, http.StatusNotImplemented, "no BMC configured")
		return nil, inventory.Machine{}, false
	}
	m, ok := s.machineParam(w, r)
	if !ok {
		return nil, m, false
	}
	if err := decodeBody(w, r, v, maxBMCBody, bodyRequired); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return nil, m, false
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(bmcWriteTimeout))
	return b, m, true
}

// decodeBody decodes a JSON body of at most limit bytes into v, refusing
// unknown fields and anything after the one JSON value but white space;
// an empty body is an error only if required.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, limit int64, required bool) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	switch {
	case errors.Is(err, io.EOF) && !required:
		return nil
	case errors.Is(err, io.EOF):
		return errors.New("body: a JSON object is required")
	case err != nil:
		return fmt.Errorf("decoding body: %w", err)
	}
	var tooBig *http.MaxBytesError
	switch err := dec.Decode(&json.RawMessage{}); {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooBig):
		return fmt.Errorf("decoding body: %w", err)
	}
	return errors.New("body: data after the JSON value")
}

// actor says who asked, for the timeline: the authenticated caller's name
// (see guarded) and the client's address.
func actor(r *http.Request) string {
	who := "api " + remoteIP(r).String()
	if c, ok := r.Context().Value(callerKey{}).(caller); ok && c.name != "" {
		return c.name + " via " + who
	}
	return who
}

// writeBMCResult answers the operation's result, or its error with a
// status that says whose fault it is: 409 for a machine without a BMC,
// 500 for rackboot's own credentials setup, 504 for a BMC that timed
// out, 502 for any other BMC failure.
func writeBMCResult(w http.ResponseWriter, r *http.Request, res bmc.Result, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, BMCResult{Machine: res.Machine, Action: res.Action,
			Protocol: res.Protocol, Power: res.Power, Detail: res.Detail,
			DurationMS: res.Duration.Milliseconds()})
		return
	}
	code := http.StatusBadGateway
	switch {
	case errors.Is(err, bmc.ErrNoBMC):
		code = http.StatusConflict
	case errors.Is(err, bmc.ErrCredentials):
		code = http.StatusInternalServerError
	case errors.Is(err, bmc.ErrTimeout):
		code = http.StatusGatewayTimeout
	}
	writeError(w, r, code, err.Error())
}
