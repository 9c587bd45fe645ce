package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Status is what GET /api/v1/status tells of the replica that answers:
// the store it keeps its state in, whether that store is degraded, and
// which replica leads.
type Status struct {
	// Store is the backend: "embedded" or "kubernetes".
	Store string `json:"store"`
	// Degraded is true while the store cannot write through: reads
	// answer from a cache, writes wait. Reason says why; Since is when
	// it began; QueuedWrites counts the writes waiting.
	Degraded     bool      `json:"degraded"`
	Reason       string    `json:"reason,omitempty"`
	Since        time.Time `json:"since,omitzero"`
	QueuedWrites int       `json:"queued_writes"`
	// Replica names this replica; Leader the one leading now ("" while
	// none is known to lead). With the embedded store both are this
	// rackboot's name and Leading is always true.
	Replica string `json:"replica"`
	Leader  string `json:"leader"`
	Leading bool   `json:"leading"`
}

// status answers GET /api/v1/status.
func (a *Admin) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.currentStatus())
}

// currentStatus is AdminConfig.Status's answer, or the embedded store's
// without one.
func (a *Admin) currentStatus() Status {
	if a.cfg.Status == nil {
		return Status{Store: "embedded", Leading: true}
	}
	return a.cfg.Status()
}

// readyTimeout bounds the readiness checks.
const readyTimeout = 5 * time.Second

// readiness is the body of /readyz.
type readiness struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// readyz answers the readiness check: the store answers and is not
// degraded, and every part rackboot runs is serving. The JSON body says
// what is wrong.
func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	errc := make(chan error, 1)
	go func() { errc <- a.ready() }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(readyTimeout):
		err = errors.New("readiness checks took too long")
	}
	if err != nil {
		a.srv.log.Debug("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, readiness{Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, readiness{Ready: true})
}

func (a *Admin) ready() error {
	if _, err := a.srv.inv.Status("00:00:00:00:00:00"); err != nil && !errors.Is(err, inventory.ErrNotFound) {
		return fmt.Errorf("store: %w", err)
	}
	if st := a.currentStatus(); st.Degraded {
		return fmt.Errorf("store degraded: %s", st.Reason)
	}
	if a.cfg.Ready != nil {
		return a.cfg.Ready()
	}
	return nil
}
