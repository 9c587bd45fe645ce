package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/provision"
)

// withWorkflow gives e's server a running reprovisioning workflow without
// a BMC: machines wait to be booted by hand, so their jobs stay running.
// It returns the function that stops the workflow.
func withWorkflow(t *testing.T, e *env) (stop func()) {
	t.Helper()
	wf, err := provision.New(provision.Config{}, e.inv, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetReprovisioner(wf)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wf.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// errorText is the message of an {"error": ...} body, or the body.
func errorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return string(body)
	}
	return e.Error
}

func TestReprovisionRoute(t *testing.T) {
	e := newEnv(t)
	withWorkflow(t, e)
	w := e.do(t, request{method: http.MethodPost, target: "/api/v1/machines/node1/reprovision",
		header: http.Header{"X-Rackboot-Actor": {"mallory"}}})
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST reprovision = %d %q, want 202", w.Code, w.Body)
	}
	j := decode[provision.Job](t, w.Body.Bytes())
	if j.Machine != "node1" || j.State != provision.StateQueued || j.By != "operator via api "+ip1 {
		t.Errorf("job = %+v, want node1 queued by operator via api %s (the token's owner)", j, ip1)
	}

	// By MAC, the same machine: already in flight.
	w = e.do(t, request{method: http.MethodPost, target: "/api/v1/machines/" + mac1 + "/reprovision"})
	if w.Code != http.StatusConflict || !strings.Contains(errorText(w.Body.Bytes()), "already being reprovisioned") {
		t.Errorf("second POST = %d %q, want 409 already being reprovisioned", w.Code, w.Body)
	}
	w = e.get(t, "/api/v1/machines/node1/reprovision")
	if j := decode[provision.Job](t, w.Body.Bytes()); w.Code != http.StatusOK || j.Machine != "node1" {
		t.Errorf("GET reprovision = %d %q, want 200 with node1's job", w.Code, w.Body)
	}
}

func TestReprovisionRouteErrors(t *testing.T) {
	tests := []struct {
		name    string
		rq      request
		want    int
		message string
	}{
		{"unknown machine", request{method: http.MethodPost, target: "/api/v1/machines/nodeX/reprovision"},
			http.StatusNotFound, `no declared machine is called "nodeX"`},
		{"unknown field", request{method: http.MethodPost, target: "/api/v1/machines/node1/reprovision",
			body: `{"force": true}`}, http.StatusBadRequest, `unknown field "force"`},
		{"no job yet", request{target: "/api/v1/machines/node2/reprovision"},
			http.StatusNotFound, "no reprovision of node2"},
		{"batch unknown machines", request{method: http.MethodPost, target: "/api/v1/reprovision",
			body: `{"machines": ["node1", "nodeX", "02:00:00:00:00:99"]}`},
			http.StatusNotFound, `"nodeX", "02:00:00:00:00:99"`},
		{"batch empty", request{method: http.MethodPost, target: "/api/v1/reprovision",
			body: `{"machines": []}`}, http.StatusBadRequest, "no machines"},
		{"batch no body", request{method: http.MethodPost, target: "/api/v1/reprovision"},
			http.StatusBadRequest, "a JSON object is required"},
		{"batch negative", request{method: http.MethodPost, target: "/api/v1/reprovision",
			body: `{"machines": ["node1"], "max_in_flight": -1}`}, http.StatusBadRequest, "negative"},
		{"batch twice", request{method: http.MethodPost, target: "/api/v1/reprovision",
			body: `{"machines": ["node1", "02:00:00:00:00:01"]}`}, http.StatusBadRequest, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			withWorkflow(t, e)
			w := e.do(t, tt.rq)
			if w.Code != tt.want || !strings.Contains(errorText(w.Body.Bytes()), tt.message) {
				t.Errorf("%s %s = %d %q, want %d with %q", tt.rq.method, tt.rq.target, w.Code, w.Body,
					tt.want, tt.message)
			}
			wantJSONError(t, w.Header().Get("Content-Type"), w.Body.Bytes())
		})
	}
}

func TestReprovisionBatch(t *testing.T) {
	e := newEnv(t)
	withWorkflow(t, e)
	w := e.do(t, request{method: http.MethodPost, target: "/api/v1/reprovision",
		body: `{"machines": ["node2", "` + mac1 + `"], "max_in_flight": 1}`})
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST batch = %d %q, want 202", w.Code, w.Body)
	}
	var got []string
	for _, j := range decode[[]provision.Job](t, w.Body.Bytes()) {
		got = append(got, j.Machine+" "+string(j.State))
	}
	if diff := cmp.Diff([]string{"node2 queued", "node1 queued"}, got); diff != "" {
		t.Errorf("batch jobs (-want +got):\n%s", diff)
	}
	w = e.get(t, "/api/v1/reprovision")
	got = nil
	for _, j := range decode[[]provision.Job](t, w.Body.Bytes()) {
		got = append(got, j.Machine)
	}
	if w.Code != http.StatusOK || !cmp.Equal(got, []string{"node1", "node2"}) {
		t.Errorf("GET /api/v1/reprovision = %d %v, want 200 [node1 node2]", w.Code, got)
	}
}

func TestReprovisionUnavailable(t *testing.T) {
	e := newEnv(t)
	w := e.do(t, request{method: http.MethodPost, target: "/api/v1/machines/node1/reprovision"})
	if w.Code != http.StatusNotImplemented {
		t.Errorf("POST without a workflow = %d, want 501", w.Code)
	}
	stop := withWorkflow(t, e)
	stop()
	w = e.do(t, request{method: http.MethodPost, target: "/api/v1/machines/node1/reprovision"})
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(errorText(w.Body.Bytes()), "stopped") {
		t.Errorf("POST after the workflow stopped = %d %q, want 503", w.Code, w.Body)
	}
}

func TestReprovisionRoutesTakeNoQuery(t *testing.T) {
	e := newEnv(t)
	withWorkflow(t, e)
	for _, target := range []string{"/api/v1/reprovision?foo=1", "/api/v1/machines/node1/reprovision?x="} {
		if w := e.get(t, target); w.Code != http.StatusBadRequest {
			t.Errorf("GET %s = %d %s, want 400", target, w.Code, w.Body)
		}
	}
}
