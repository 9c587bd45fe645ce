package tracker

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/rackboot/rackboot/web"
)

// webTracker shows a Tracker to the machine API as cmd/rackboot's
// clusterTracker does.
type webTracker struct{ t *Tracker }

var _ web.Tracker = webTracker{}

func (w webTracker) Tracked(name string) (web.Tracked, bool) {
	m, ok := w.t.Machine(name)
	if !ok {
		return web.Tracked{}, false
	}
	return web.Tracked{Node: m.Node, Diagnosis: m.Diagnosis, Deadline: m.Deadline}, true
}

// apiMachine returns what GET /api/v1/machines/<name> says of machine i.
func (l *lab) apiMachine(i int) web.MachineInfo {
	l.t.Helper()
	body := l.get(http.DefaultClient, "/api/v1/machines/"+labMachines[i].name)
	var info web.MachineInfo
	if err := json.Unmarshal(body, &info); err != nil {
		l.t.Fatalf("GET /api/v1/machines/%s: %v: %s", labMachines[i].name, err, body)
	}
	return info
}

// checkAPI checks that the machine API shows machine i with Node node,
// a diagnosis holding each of diag, and a deadline if deadline is true.
func checkAPI(t *testing.T, l *lab, i int, node string, diag []string, deadline bool) {
	t.Helper()
	got := l.apiMachine(i)
	if got.Node != node || !containsAll(got.Diagnosis, diag) || (len(diag) == 0) != (got.Diagnosis == "") ||
		got.Deadline.IsZero() == deadline {
		t.Errorf("GET /api/v1/machines/%s = node %q, diagnosis %q, deadline %v; want node %q, "+
			"diagnosis with %q, a deadline %v", labMachines[i].name, got.Node, got.Diagnosis,
			got.Deadline, node, diag, deadline)
	}
}
