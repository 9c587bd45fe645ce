package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

var (
	_ Declarations = (*inventory.Inventory)(nil)
	_ EventSource  = (*inventory.Inventory)(nil)
)

// send makes one JSON API request with body.
func (e *env) send(t *testing.T, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, request{method: method, target: target, body: body,
		header: http.Header{"Content-Type": {"application/json"}}})
}

// wantCode checks the answer's status and, for an error, its JSON code.
func wantCode(t *testing.T, what string, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s = %d %s, want %d", what, w.Code, w.Body, status)
	}
	if code == "" {
		return
	}
	got := decode[APIError](t, w.Body.Bytes())
	if got.Code != code || got.Error == "" {
		t.Errorf("%s body = %+v, want code %q and a message", what, got, code)
	}
}

// names returns the names (or first MACs) of a page's machines.
func names(items []MachineInfo) []string {
	out := []string{}
	for _, m := range items {
		if m.Name == "" {
			out = append(out, m.MACs[0])
			continue
		}
		out = append(out, m.Name)
	}
	return out
}

func TestListMachinesFilters(t *testing.T) {
	e := newEnv(t)
	e.seen(t, mac1, ip1)
	e.get(t, "/ipxe?mac="+mac3+"&platform=efi")
	e.get(t, "/ipxe?mac="+macNew)
	w := e.send(t, "POST", "/api/v1/machines",
		`{"name": "node9", "macs": ["02:00:00:00:00:09"], "profile": "tiny", "labels": {"rack": "r2"}}`)
	wantCode(t, "POST machine", w, http.StatusCreated, "")

	tests := []struct {
		query     string
		want      []string
		wantTotal int
	}{
		{"", []string{"node1", "node2", "node4", "node9", macNew}, 5},
		{"?state=booting", []string{"node2"}, 1},
		{"?state=discovered", []string{"node1", macNew}, 2},
		{"?profile=broken", []string{"node4"}, 1},
		{"?label=rack=r1", []string{"node1"}, 1},
		{"?label=rack=r2&label=rack=r2", []string{"node9"}, 1},
		{"?label=rack=", []string{}, 0},
		{"?source=api", []string{"node9"}, 1},
		{"?source=file", []string{"node1", "node2", "node4"}, 3},
		{"?source=discovered", []string{macNew}, 1},
		{"?q=NODE", []string{"node1", "node2", "node4", "node9"}, 4},
		{"?q=02-00-00-00-00-03", []string{"node2"}, 1},
		{"?q=10.99.0.50", []string{"node1", "node2", macNew}, 3},
		{"?q=rack=r2", []string{"node9"}, 1},
		{"?limit=2", []string{"node1", "node2"}, 5},
		{"?limit=2&offset=2", []string{"node4", "node9"}, 5},
		{"?offset=4", []string{macNew}, 5},
		{"?offset=9", []string{}, 5},
		{"?source=file&limit=1&offset=1", []string{"node2"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := e.get(t, "/api/v1/machines"+tt.query)
			wantCode(t, "GET "+tt.query, w, http.StatusOK, "")
			page := decode[MachineList](t, w.Body.Bytes())
			if diff := cmp.Diff(tt.want, names(page.Items)); diff != "" || page.Total != tt.wantTotal {
				t.Errorf("GET /api/v1/machines%s = total %d (want %d), items (-want +got):\n%s",
					tt.query, page.Total, tt.wantTotal, diff)
			}
		})
	}
}

func TestListMachinesBadQuery(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"?state=asleep", "?source=disk", "?label=rack", "?label==x",
		"?limit=0", "?limit=1001", "?limit=x", "?offset=-1", "?sort=name", "?state=ready&state=failed", "?%zz"} {
		t.Run(q, func(t *testing.T) {
			wantCode(t, "GET "+q, e.get(t, "/api/v1/machines"+q), http.StatusBadRequest, CodeBadRequest)
		})
	}
}

func TestGetMachineTimeline(t *testing.T) {
	e := newEnv(t)
	e.seen(t, mac3, ip1)
	e.seen(t, mac2, ip1)
	tests := []struct {
		target string
		code   int
		want   []string // the timeline's MACs' kinds, nil: no timeline
	}{
		{"/api/v1/machines/node2?timeline=1", 200, []string{"dhcp-offer", "dhcp-offer"}},
		{"/api/v1/machines/node2?timeline=true", 200, []string{"dhcp-offer", "dhcp-offer"}},
		{"/api/v1/machines/node4?timeline=1", 200, []string{}},
		{"/api/v1/machines/node2?timeline=0", 200, nil},
		{"/api/v1/machines/node2?timeline=yes", 400, nil},
		{"/api/v1/machines/node2?other=1", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			w := e.get(t, tt.target)
			if w.Code != tt.code {
				t.Fatalf("GET %s = %d %s, want %d", tt.target, w.Code, w.Body, tt.code)
			}
			if tt.code != 200 {
				return
			}
			var body map[string]json.RawMessage
			json.Unmarshal(w.Body.Bytes(), &body)
			raw, has := body["timeline"]
			if has != (tt.want != nil) {
				t.Fatalf("GET %s has timeline %v, want %v", tt.target, has, tt.want != nil)
			}
			if !has {
				return
			}
			var events []inventory.Event
			if err := json.Unmarshal(raw, &events); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, ev := range events {
				got = append(got, string(ev.Kind))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GET %s timeline (-want +got):\n%s", tt.target, diff)
			}
		})
	}
}

func TestCreateUpdateDeleteMachine(t *testing.T) {
	e := newEnv(t)
	w := e.send(t, "POST", "/api/v1/machines", `{"name": "node9", "macs": ["02-00-00-00-00-09"],
		"profile": "tiny", "labels": {"rack": "r2"}, "address": "10.99.0.59", "arch": "x64-efi"}`)
	wantCode(t, "POST", w, http.StatusCreated, "")
	if loc := w.Header().Get("Location"); loc != "/api/v1/machines/node9" {
		t.Errorf("Location = %q, want /api/v1/machines/node9", loc)
	}
	got := decode[MachineInfo](t, w.Body.Bytes())
	if got.Source != inventory.SourceAPI || got.ReadOnly || got.MACs[0] != "02:00:00:00:00:09" ||
		got.Address.String() != "10.99.0.59" || got.Arch != inventory.ArchX64EFI {
		t.Errorf("POST machine = %+v, want node9 from the api, canonical MAC, address and arch", got)
	}
	if m, _, ok := e.inv.Lookup("02:00:00:00:00:09"); !ok || m.Name != "node9" {
		t.Errorf("Lookup(node9's mac) = %q, %v after POST", m.Name, ok)
	}

	w = e.send(t, "PUT", "/api/v1/machines/node9", `{"macs": ["02:00:00:00:00:19"], "profile": "broken"}`)
	wantCode(t, "PUT existing", w, http.StatusOK, "")
	if m, _, ok := e.inv.Lookup("02:00:00:00:00:19"); !ok || m.Profile != "broken" || m.Labels != nil {
		t.Errorf("after PUT Lookup = %+v, %v, want node9 on profile broken without labels", m, ok)
	}
	wantCode(t, "PUT new", e.send(t, "PUT", "/api/v1/machines/node8",
		`{"name": "node8", "macs": ["02:00:00:00:00:08"], "profile": "tiny"}`), http.StatusCreated, "")

	wantCode(t, "DELETE by mac", e.send(t, "DELETE", "/api/v1/machines/02:00:00:00:00:19", ""),
		http.StatusNoContent, "")
	wantCode(t, "DELETE by name", e.send(t, "DELETE", "/api/v1/machines/node8", ""), http.StatusNoContent, "")
	if _, _, ok := e.inv.Lookup("02:00:00:00:00:08"); ok {
		t.Error("node8 still declared after DELETE")
	}
}

func TestMachineWriteErrors(t *testing.T) {
	e := newEnv(t)
	wantCode(t, "setup", e.send(t, "POST", "/api/v1/machines",
		`{"name": "node9", "macs": ["02:00:00:00:00:09"], "profile": "tiny"}`), http.StatusCreated, "")
	tests := []struct {
		name, method, target, body string
		status                     int
		code                       string
	}{
		{"create a file's name", "POST", "/api/v1/machines",
			`{"name": "node1", "macs": ["02:00:00:00:00:0a"], "profile": "tiny"}`, 409, CodeReadOnly},
		{"create twice", "POST", "/api/v1/machines",
			`{"name": "node9", "macs": ["02:00:00:00:00:0a"], "profile": "tiny"}`, 409, CodeConflict},
		{"a file's mac", "POST", "/api/v1/machines",
			`{"name": "node7", "macs": ["02:00:00:00:00:01"], "profile": "tiny"}`, 409, CodeConflict},
		{"a file's address", "POST", "/api/v1/machines",
			`{"name": "node7", "macs": ["02:00:00:00:00:07"], "profile": "tiny", "address": "10.99.0.50"}`,
			409, CodeConflict},
		{"no such profile", "POST", "/api/v1/machines",
			`{"name": "node7", "macs": ["02:00:00:00:00:07"], "profile": "huge"}`, 400, CodeBadRequest},
		{"bad name", "POST", "/api/v1/machines",
			`{"name": "Node 7", "macs": ["02:00:00:00:00:07"], "profile": "tiny"}`, 400, CodeBadRequest},
		{"bad address", "POST", "/api/v1/machines",
			`{"name": "node7", "macs": ["02:00:00:00:00:07"], "profile": "tiny", "address": "fe80::1"}`,
			400, CodeBadRequest},
		{"unknown field", "POST", "/api/v1/machines",
			`{"name": "node7", "macs": ["02:00:00:00:00:07"], "profile": "tiny", "bmc": {}}`, 400, CodeBadRequest},
		{"not json", "POST", "/api/v1/machines", `{"name":`, 400, CodeBadRequest},
		{"huge body", "POST", "/api/v1/machines", `{"name": "` + strings.Repeat("x", 20000) + `"}`,
			413, CodeBadRequest},
		{"update a file's machine", "PUT", "/api/v1/machines/node1",
			`{"macs": ["02:00:00:00:00:01"], "profile": "tiny"}`, 409, CodeReadOnly},
		{"rename", "PUT", "/api/v1/machines/node9",
			`{"name": "node8", "macs": ["02:00:00:00:00:09"], "profile": "tiny"}`, 400, CodeBadRequest},
		{"delete a file's machine", "DELETE", "/api/v1/machines/node1", "", 409, CodeReadOnly},
		{"delete nothing", "DELETE", "/api/v1/machines/nobody", "", 404, CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.inv.Catalog()
			wantCode(t, tt.method+" "+tt.target, e.send(t, tt.method, tt.target, tt.body), tt.status, tt.code)
			if e.inv.Catalog() != before {
				t.Error("a refused write changed the catalog")
			}
		})
	}
}

func TestAcceptAndReject(t *testing.T) {
	e := newEnv(t)
	e.get(t, "/ipxe?mac="+macNew)
	reject := "/api/v1/machines/" + macNew + "/reject"
	wantCode(t, "reject", e.send(t, "POST", reject, ""), http.StatusNoContent, "")
	if !e.inv.Catalog().Rejected(macNew) {
		t.Fatal("the MAC is not rejected after POST reject")
	}
	page := decode[MachineList](t, e.get(t, "/api/v1/machines?source=discovered").Body.Bytes())
	if len(page.Items) != 1 || !page.Items[0].Rejected {
		t.Errorf("discovered machines = %+v, want the rejected MAC marked", page.Items)
	}
	wantCode(t, "reject a file's mac", e.send(t, "POST", "/api/v1/machines/"+mac1+"/reject", "{}"),
		http.StatusConflict, CodeConflict)
	wantCode(t, "reject junk", e.send(t, "POST", "/api/v1/machines/junk/reject", ""),
		http.StatusBadRequest, CodeBadRequest)

	accept := "/api/v1/machines/" + macNew + "/accept"
	w := e.send(t, "POST", accept, `{"name": "node99", "profile": "tiny", "labels": {"rack": "r9"}}`)
	wantCode(t, "accept", w, http.StatusCreated, "")
	got := decode[MachineInfo](t, w.Body.Bytes())
	if got.Name != "node99" || got.Source != inventory.SourceAPI || got.Rejected ||
		got.State != inventory.StateDiscovered || got.Labels["rack"] != "r9" {
		t.Errorf("accept = %+v, want node99 from the api, not rejected, with its history", got)
	}
	if e.inv.Catalog().Rejected(macNew) {
		t.Error("accept left the MAC rejected")
	}
	wantCode(t, "accept twice", e.send(t, "POST", accept, `{"name": "node98", "profile": "tiny"}`),
		http.StatusConflict, CodeConflict)
	wantCode(t, "accept with macs", e.send(t, "POST", "/api/v1/machines/02:00:00:00:00:98/accept",
		`{"name": "node98", "profile": "tiny", "macs": ["02:00:00:00:00:97"]}`), http.StatusBadRequest, CodeBadRequest)

	wantCode(t, "unreject", e.send(t, "DELETE", "/api/v1/machines/02:00:00:00:00:98/reject", ""),
		http.StatusNotFound, CodeNotFound)
	wantCode(t, "reject again", e.send(t, "POST", "/api/v1/machines/02:00:00:00:00:98/reject", ""),
		http.StatusNoContent, "")
	wantCode(t, "unreject", e.send(t, "DELETE", "/api/v1/machines/02:00:00:00:00:98/reject", ""),
		http.StatusNoContent, "")

	// Each decision is on the MAC's timeline, for every dashboard to see.
	evs, err := e.inv.Timeline(macNew)
	if err != nil {
		t.Fatal(err)
	}
	var decisions []string
	for _, ev := range evs[1:] {
		decisions = append(decisions, string(ev.Kind)+" "+ev.Detail)
	}
	want := []string{"rejected by operator via api " + ip1,
		"accepted by operator via api " + ip1 + ": name=node99 profile=tiny"}
	if diff := cmp.Diff(want, decisions); diff != "" {
		t.Errorf("decisions on the timeline (-want +got):\n%s", diff)
	}
	if kinds := e.kinds(t, "02:00:00:00:00:98"); !slices.Equal(kinds, []inventory.EventKind{
		inventory.EventRejected, inventory.EventUnrejected}) {
		t.Errorf("timeline of a MAC rejected and taken back = %v", kinds)
	}
}

func TestViewerCannotWrite(t *testing.T) {
	e := newEnv(t)
	viewer := http.Header{"Authorization": {"Bearer " + viewerToken}}
	for _, rq := range []request{
		{method: "POST", target: "/api/v1/machines", body: `{"name": "node9"}`},
		{method: "POST", target: "/api/v1/machines/" + macNew + "/reject"},
		{method: "DELETE", target: "/api/v1/machines/node1"},
	} {
		rq.header = viewer
		if w := e.do(t, rq); w.Code != http.StatusForbidden {
			t.Errorf("%s %s as viewer = %d, want 403", rq.method, rq.target, w.Code)
		}
	}
	if w := e.do(t, request{target: "/api/v1/machines", header: viewer}); w.Code != http.StatusOK {
		t.Errorf("GET /api/v1/machines as viewer = %d, want 200", w.Code)
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{400, CodeBadRequest}, {401, CodeUnauthorized}, {403, CodeForbidden}, {404, CodeNotFound},
		{405, CodeMethodNotAllowed}, {409, CodeConflict}, {413, CodeBadRequest}, {429, CodeRateLimited},
		{501, CodeUnavailable}, {503, CodeUnavailable}, {500, CodeInternal},
	}
	for _, tt := range tests {
		if got := errorCode(tt.status); got != tt.want {
			t.Errorf("errorCode(%d) = %q, want %q", tt.status, got, tt.want)
		}
	}
	e := newEnv(t)
	wantCode(t, "GET unknown route", e.get(t, "/api/v1/nothing"), http.StatusNotFound, CodeNotFound)
	wantCode(t, "PATCH machine", e.send(t, "PATCH", "/api/v1/machines/node1", ""),
		http.StatusMethodNotAllowed, CodeMethodNotAllowed)
}

func TestProfiles(t *testing.T) {
	e := newEnv(t)
	w := e.get(t, "/api/v1/profiles")
	wantCode(t, "GET profiles", w, http.StatusOK, "")
	list := decode[ProfileList](t, w.Body.Bytes())
	var got []string
	for _, p := range list.Items {
		got = append(got, p.Name+":"+string(rune('0'+p.Machines)))
	}
	if diff := cmp.Diff([]string{"broken:1", "tiny:2"}, got); diff != "" || list.Total != 2 {
		t.Errorf("GET profiles = total %d, (-want +got):\n%s", list.Total, diff)
	}
	w = e.get(t, "/api/v1/profiles/tiny")
	wantCode(t, "GET tiny", w, http.StatusOK, "")
	if p := decode[ProfileInfo](t, w.Body.Bytes()); p.Kernel != "tiny/vmlinuz" || len(p.Initrds) != 2 {
		t.Errorf("GET profile tiny = %+v", p)
	}
	wantCode(t, "GET unknown profile", e.get(t, "/api/v1/profiles/huge"), http.StatusNotFound, CodeNotFound)
	wantCode(t, "GET profiles?x", e.get(t, "/api/v1/profiles?x=1"), http.StatusBadRequest, CodeBadRequest)
}

// wantError checks the answer's status, code and that its message holds
// part.
func wantError(t *testing.T, what string, w *httptest.ResponseRecorder, status int, code, part string) {
	t.Helper()
	wantCode(t, what, w, status, code)
	if got := decode[APIError](t, w.Body.Bytes()); !strings.Contains(got.Error, part) {
		t.Errorf("%s error = %q, want it to say %q", what, got.Error, part)
	}
}

// reloaded is catalogYAML as a reload changes it: node3 takes node9's
// first MAC, node5 node8's address, and profile extra is gone.
const reloaded = catalogYAML + `
  - name: node3
    macs: ["02:00:00:00:00:09"]
    profile: tiny
  - name: node5
    macs: ["02:00:00:00:00:05"]
    profile: tiny
    address: 10.99.0.58
`

// leftOutEnv declares node9, node8 and node6 through the API, then
// reloads the inventory file so that the catalog leaves all three out.
func leftOutEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	extra, err := inventory.ParseCatalog([]byte(strings.Replace(catalogYAML, "profiles:",
		"profiles:\n  - {name: extra, kernel: tiny/vmlinuz}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	e.inv.SetCatalog(extra)
	for _, body := range []string{
		`{"name": "node9", "macs": ["02:00:00:00:00:09", "02:00:00:00:00:19"], "profile": "tiny"}`,
		`{"name": "node8", "macs": ["02:00:00:00:00:08"], "profile": "tiny", "address": "10.99.0.58"}`,
		`{"name": "node6", "macs": ["02:00:00:00:00:06"], "profile": "extra"}`,
	} {
		wantCode(t, "POST "+body, e.send(t, "POST", "/api/v1/machines", body), http.StatusCreated, "")
	}
	e.seen(t, "02:00:00:00:00:19", ip1)
	cat, err := inventory.ParseCatalog([]byte(reloaded))
	if err != nil {
		t.Fatal(err)
	}
	e.inv.SetCatalog(cat)
	return e
}

func TestLeftOutMachinesShown(t *testing.T) {
	e := leftOutEnv(t)
	node9 := "macs[0]: 02:00:00:00:00:09 already belongs to node3"
	w := e.get(t, "/api/v1/machines?source=api")
	wantCode(t, "GET source=api", w, http.StatusOK, "")
	var got []string
	for _, mi := range decode[MachineList](t, w.Body.Bytes()).Items {
		got = append(got, mi.Name+": "+mi.Conflict)
		if mi.Source != inventory.SourceAPI || mi.ReadOnly {
			t.Errorf("left-out %s = source %q, read_only %v; want api, false", mi.Name, mi.Source, mi.ReadOnly)
		}
	}
	want := []string{`node6: profile: "extra" is not defined`,
		"node8: address: 10.99.0.58 is already reserved for node5", "node9: " + node9}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /api/v1/machines?source=api (-want +got):\n%s", diff)
	}
	page := decode[MachineList](t, e.get(t, "/api/v1/machines?q=02:00:00:00:00:19").Body.Bytes())
	if diff := cmp.Diff([]string{"node9"}, names(page.Items)); diff != "" || page.Items[0].State != "discovered" {
		t.Errorf("machines with node9's second MAC = %+v, want node9 alone, discovered", page.Items)
	}
	for _, id := range []string{"node9", "02-00-00-00-00-19"} {
		w := e.get(t, "/api/v1/machines/"+id)
		wantCode(t, "GET "+id, w, http.StatusOK, "")
		if mi := decode[MachineInfo](t, w.Body.Bytes()); mi.Name != "node9" || mi.Conflict != node9 {
			t.Errorf("GET %s = %+v, want node9 with its conflict", id, mi)
		}
	}
	if mi := decode[MachineInfo](t, e.get(t, "/api/v1/machines/02:00:00:00:00:09").Body.Bytes()); mi.Name != "node3" {
		t.Errorf("GET node9's first MAC = %q, want the file's node3, which has it now", mi.Name)
	}
	wantCode(t, "GET node6 timeline", e.get(t, "/api/v1/machines/node6/timeline"), http.StatusOK, "")
	x := explain(t, e, "/api/v1/machines/node9/explain")
	if x.MAC != "02:00:00:00:00:19" || x.Machine == nil || x.Machine.Conflict != node9 ||
		!hasNote(x, "left out of the catalog") || !strings.Contains(x.Script, "02:00:00:00:00:19") {
		t.Errorf("explain node9 = mac %s, machine %+v, notes %q; want the script of an undeclared MAC, and why",
			x.MAC, x.Machine, x.Notes)
	}
	if _, _, ok := e.inv.Lookup("02:00:00:00:00:19"); ok {
		t.Error("a left-out machine's MAC boots as declared")
	}
}

func TestLeftOutMachinesFixed(t *testing.T) {
	e := leftOutEnv(t)
	why := "left out of the catalog: macs[0]: 02:00:00:00:00:09 already belongs to node3"
	wantError(t, "POST its name", e.send(t, "POST", "/api/v1/machines",
		`{"name": "node9", "macs": ["02:00:00:00:00:29"], "profile": "tiny"}`), http.StatusConflict, CodeConflict, why)
	wantError(t, "POST its MAC", e.send(t, "POST", "/api/v1/machines",
		`{"name": "node10", "macs": ["02:00:00:00:00:19"], "profile": "tiny"}`), http.StatusConflict, CodeConflict,
		"already belongs to node9 ("+why)
	wantError(t, "accept its MAC", e.send(t, "POST", "/api/v1/machines/02:00:00:00:00:19/accept",
		`{"name": "node10", "profile": "tiny"}`), http.StatusConflict, CodeConflict, why)

	wantCode(t, "PUT by MAC", e.send(t, "PUT", "/api/v1/machines/02:00:00:00:00:19",
		`{"macs": ["02:00:00:00:00:19"], "profile": "tiny"}`), http.StatusOK, "")
	wantCode(t, "PUT a new address", e.send(t, "PUT", "/api/v1/machines/node8",
		`{"macs": ["02:00:00:00:00:08"], "profile": "tiny", "address": "10.99.0.59"}`), http.StatusOK, "")
	wantCode(t, "DELETE", e.send(t, "DELETE", "/api/v1/machines/node6", ""), http.StatusNoContent, "")
	for mac, want := range map[string]string{"02:00:00:00:00:19": "node9", "02:00:00:00:00:08": "node8"} {
		if m, _, ok := e.inv.Lookup(mac); !ok || m.Name != want {
			t.Errorf("Lookup(%s) = %q, %v after the fix, want %s", mac, m.Name, ok, want)
		}
	}
	wantCode(t, "GET deleted", e.get(t, "/api/v1/machines/node6"), http.StatusNotFound, CodeNotFound)
	if mi := decode[MachineInfo](t, e.get(t, "/api/v1/machines/node9").Body.Bytes()); mi.Conflict != "" {
		t.Errorf("node9 after the fix has conflict %q", mi.Conflict)
	}
}

func TestMachineRefs(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		target string
		status int
		part   string
	}{
		{"/api/v1/machines/nobody", 404, `no machine is called or has the MAC "nobody"`},
		{"/api/v1/machines/nobody?timeline=1", 404, `no machine is called or has the MAC "nobody"`},
		{"/api/v1/machines/nobody/timeline", 404, `no machine is called or has the MAC "nobody"`},
		{"/api/v1/machines/nobody/explain", 404, `no machine is called or has the MAC "nobody"`},
		{"/api/v1/machines/02:00:00:00:00:77", 404, "no machine has the MAC 02:00:00:00:00:77"},
		{"/api/v1/machines/02:00:00:00:00:77/timeline", 404, "no machine has the MAC 02:00:00:00:00:77"},
		{"/api/v1/machines/No_Body", 400, `"No_Body" is neither a machine's name nor a MAC`},
		{"/api/v1/machines/525400123401/timeline", 404, "no machine has the MAC 52:54:00:12:34:01"},
		{"/api/v1/machines/01:00:5e:00:00:01/explain", 400, "multicast"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			w := e.get(t, tt.target)
			wantError(t, "GET "+tt.target, w, tt.status, errorCode(tt.status), tt.part)
		})
	}
}

func TestQueryStrict(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ target, part string }{
		{"/api/v1/machines/node1?timeline=1&timeline=0", "timeline: given 2 times"},
		{"/api/v1/machines/node1?timeline=yes", `timeline: "yes" is not 1, 0, true or false`},
		{"/api/v1/machines/node1?timelines=1", `unknown parameter "timelines"`},
		{"/api/v1/machines/node1/timeline?timeline=1", `unknown parameter "timeline"`},
		{"/api/v1/machines/node1/explain?arch=bios&arch=x64-efi", "arch: given 2 times"},
		{"/api/v1/machines/node1/explain?arch=bios&zeta=1&alpha=1", `unknown parameter "alpha"`},
		{"/api/v1/machines?state=ready&state=failed", "state: given 2 times"},
		{"/api/v1/machines?zeta=1&alpha=1", `unknown parameter "alpha"`},
		{"/api/v1/profiles?x=1", `unknown parameter "x"`},
		{"/api/v1/profiles/tiny?x=1", `unknown parameter "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			wantError(t, "GET "+tt.target, e.get(t, tt.target), http.StatusBadRequest, CodeBadRequest, tt.part)
		})
	}
}

func TestBodyTrailingData(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ method, target, body string }{
		{"POST", "/api/v1/machines", `{"name": "node7", "macs": ["02:00:00:00:00:07"], "profile": "tiny"}{"name": "z"}`},
		{"PUT", "/api/v1/machines/node7", `{"macs": ["02:00:00:00:00:07"], "profile": "tiny"} x`},
		{"POST", "/api/v1/machines/" + macNew + "/accept", `{"name": "node7", "profile": "tiny"}[]`},
		{"POST", "/api/v1/machines/" + macNew + "/reject", `{}{}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			before := e.inv.Catalog()
			wantError(t, tt.method+" "+tt.target, e.send(t, tt.method, tt.target, tt.body),
				http.StatusBadRequest, CodeBadRequest, "after the JSON value")
			if e.inv.Catalog() != before {
				t.Error("a refused body changed the catalog")
			}
		})
	}
	wantCode(t, "POST with trailing space", e.send(t, "POST", "/api/v1/machines",
		`{"name": "node7", "macs": ["02:00:00:00:00:07"], "profile": "tiny"}`+"\n \n"), http.StatusCreated, "")
}

func TestMachineWriteMessages(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, target, body string
		status                     int
		part                       string
	}{
		{"mac twice", "POST", "/api/v1/machines",
			`{"name": "node7", "macs": ["02:00:00:00:00:07", "02-00-00-00-00-07"], "profile": "tiny"}`,
			400, "macs[1]: 02:00:00:00:00:07 is listed twice"},
		{"long name", "POST", "/api/v1/machines",
			`{"name": "` + strings.Repeat("n", 64) + `", "macs": ["02:00:00:00:00:07"], "profile": "tiny"}`,
			400, "name: 64 characters, at most 63"},
		{"name of a mac", "POST", "/api/v1/machines",
			`{"name": "52-54-00-12-34-01", "macs": ["02:00:00:00:00:07"], "profile": "tiny"}`,
			400, `name: "52-54-00-12-34-01" looks like a MAC address; names must not`},
		{"name of bare hex", "POST", "/api/v1/machines",
			`{"name": "525400123401", "macs": ["02:00:00:00:00:07"], "profile": "tiny"}`,
			400, `name: "525400123401" looks like a MAC address`},
		{"accept as a mac", "POST", "/api/v1/machines/" + macNew + "/accept",
			`{"name": "52:54:00:12:34:01", "profile": "tiny"}`, 400, "looks like a MAC address"},
		{"put a mac of nothing", "PUT", "/api/v1/machines/02:00:00:00:00:77",
			`{"macs": ["02:00:00:00:00:77"], "profile": "tiny"}`, 404, "no machine has the MAC 02:00:00:00:00:77"},
		{"put a bad name", "PUT", "/api/v1/machines/Node_7",
			`{"macs": ["02:00:00:00:00:07"], "profile": "tiny"}`, 400, "is not a DNS label"},
		{"delete a mac of nothing", "DELETE", "/api/v1/machines/02:00:00:00:00:77", "", 404,
			"no machine has the MAC 02:00:00:00:00:77"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.send(t, tt.method, tt.target, tt.body)
			wantError(t, tt.method+" "+tt.target, w, tt.status, errorCode(tt.status), tt.part)
		})
	}
}

func TestDecisionsOnce(t *testing.T) {
	e := newEnv(t)
	reject := "/api/v1/machines/" + macNew + "/reject"
	for range 2 {
		wantCode(t, "POST reject", e.send(t, "POST", reject, ""), http.StatusNoContent, "")
	}
	if kinds := e.kinds(t, macNew); !slices.Equal(kinds, []inventory.EventKind{inventory.EventRejected}) {
		t.Errorf("timeline after rejecting twice = %v, want one rejected event", kinds)
	}
	page := decode[MachineList](t, e.get(t, "/api/v1/machines?source=discovered").Body.Bytes())
	if len(page.Items) != 1 || !page.Items[0].Rejected || page.Items[0].State != "" {
		t.Errorf("discovered = %+v, want the rejected MAC, without a state: never seen", page.Items)
	}

	w := e.send(t, "POST", "/api/v1/machines/"+macNew+"/accept", `{"name": "node7", "profile": "tiny"}`)
	wantCode(t, "accept", w, http.StatusCreated, "")
	if mi := decode[MachineInfo](t, w.Body.Bytes()); mi.State != "" || !mi.FirstSeen.IsZero() {
		t.Errorf("accepted but never seen = state %q, first_seen %v; want neither", mi.State, mi.FirstSeen)
	}
	e.seen(t, macNew, ip1)
	if mi := decode[MachineInfo](t, e.get(t, "/api/v1/machines/node7").Body.Bytes()); mi.State != inventory.StateDiscovered {
		t.Errorf("accepted, then seen = state %q, want discovered", mi.State)
	}
}
