package web

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

// unreachable is a store whose declaration and job writes fail as the
// Kubernetes store's do when its API server cannot be reached.
type unreachable struct {
	*inventory.Store
}

func (unreachable) PutStoredMachine(inventory.Machine) error { return errUnreachable }
func (unreachable) PutRejection(string) error                { return errUnreachable }

// downWorkflow is a reprovisioning workflow on a follower replica whose
// store cannot save the job it is handed.
type downWorkflow struct{}

func (downWorkflow) Submit([]inventory.Machine, int, string) ([]provision.Job, error) {
	return nil, fmt.Errorf("saving the job of node1: %w", errUnreachable)
}
func (downWorkflow) Jobs() []provision.Job            { return nil }
func (downWorkflow) Job(string) (provision.Job, bool) { return provision.Job{}, false }

var errUnreachable = fmt.Errorf("writing machine: %w: dial tcp 127.0.0.1:6443: connection refused",
	inventory.ErrUnavailable)

// Writes the store refuses because it cannot reach its API server answer
// 503 unavailable with a Retry-After, not 500 internal.
func TestWritesWhileStoreUnavailable(t *testing.T) {
	e := newEnvOver(t, func(s *inventory.Store) inventory.Backend { return unreachable{s} })
	e.srv.SetReprovisioner(downWorkflow{})
	for _, tt := range []struct{ name, method, target, body string }{
		{"declare", "POST", "/api/v1/machines",
			`{"name": "node9", "macs": ["02:00:00:00:00:09"], "profile": "tiny"}`},
		{"reject", "POST", "/api/v1/machines/" + macNew + "/reject", ""},
		{"reprovision", "POST", "/api/v1/machines/node1/reprovision", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.send(t, tt.method, tt.target, tt.body)
			wantCode(t, tt.method+" "+tt.target, w, http.StatusServiceUnavailable, CodeUnavailable)
			if got := w.Header().Get("Retry-After"); got != "5" {
				t.Errorf("Retry-After = %q, want 5", got)
			}
		})
	}
}
