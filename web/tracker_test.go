package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeTracker follows the machines of its map.
type fakeTracker map[string]Tracked

func (f fakeTracker) Tracked(name string) (Tracked, bool) {
	t, ok := f[name]
	return t, ok
}

func TestMachineAPIShowsTracker(t *testing.T) {
	deadline := time.Date(2026, 12, 4, 18, 30, 0, 0, time.UTC)
	stuck := Tracked{Node: "node1", Diagnosis: "the Node is not Ready: KubeletNotReady",
		Deadline: deadline}
	tests := []struct {
		name    string
		tracker Tracker // nil: SetTracker is not called
		path    string
		want    Tracked
	}{
		{"by mac", fakeTracker{"node1": stuck}, "/api/v1/machines/" + mac1, stuck},
		{"by name", fakeTracker{"node1": stuck}, "/api/v1/machines/node1", stuck},
		{"not followed", fakeTracker{"node2": stuck}, "/api/v1/machines/node1", Tracked{}},
		{"no tracker", nil, "/api/v1/machines/node1", Tracked{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.tracker != nil {
				e.srv.SetTracker(tt.tracker)
			}
			w := e.get(t, tt.path)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d %q", tt.path, w.Code, w.Body)
			}
			got := decode[MachineInfo](t, w.Body.Bytes())
			gotT := Tracked{Node: got.Node, Diagnosis: got.Diagnosis, Deadline: got.Deadline}
			if diff := cmp.Diff(tt.want, gotT); diff != "" {
				t.Errorf("GET %s tracker fields (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func TestMachineListShowsTracker(t *testing.T) {
	e := newEnv(t)
	e.srv.SetTracker(fakeTracker{"node2": {Node: "node2", Diagnosis: "no CSR"}})
	e.get(t, "/ipxe?mac="+macNew)
	w := e.get(t, "/api/v1/machines")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/machines = %d %q", w.Code, w.Body)
	}
	nodes := map[string]string{}
	for _, m := range decode[MachineList](t, w.Body.Bytes()).Items {
		nodes[m.MACs[0]] = m.Node + "|" + m.Diagnosis
	}
	want := map[string]string{mac1: "|", mac2: "node2|no CSR", macBad: "|", macNew: "|"}
	if diff := cmp.Diff(want, nodes); diff != "" {
		t.Errorf("node|diagnosis by mac (-want +got):\n%s", diff)
	}
}

func TestMachineJSONOmitsTracker(t *testing.T) {
	e := newEnv(t)
	w := e.get(t, "/api/v1/machines/node1")
	for _, key := range []string{`"node"`, `"diagnosis"`, `"deadline"`} {
		if body := w.Body.String(); strings.Contains(body, key) {
			t.Errorf("GET machine without tracker = %s, want no %s", body, key)
		}
	}
}
