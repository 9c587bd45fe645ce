package web

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rackboot/rackboot/inventory"
)

func TestCallback(t *testing.T) {
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	jsonType := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	tests := []struct {
		name       string
		mac        string
		body       string
		header     http.Header
		wantCode   int
		wantDetail string
	}{
		{"no body", mac1, "", nil, 204, ""},
		{"busybox wget form", mac1, "mac=02:00:00:00:00:01&ip=10.99.0.50", form, 204, ""},
		{"json detail", mac1, `{"detail": "tinyos up"}`, jsonType, 204, "tinyos up"},
		{"json without detail", mac1, `{}`, jsonType, 204, ""},
		{"json labelled a form", mac1, `{"detail": "curl -d"}`, form, 204, "curl -d"},
		{"json unknown field", mac1, `{"detial": "typo"}`, jsonType, 400, ""},
		{"json array", mac1, `[1]`, jsonType, 400, ""},
		{"json and more", mac1, `{"detail": "a"}{"detail": "b"}`, form, 400, ""},
		{"hyphen mac", "02-00-00-00-00-01", "", nil, 204, ""},
		{"escaped colons", "02%3A00%3A00%3A00%3A00%3A01", "", nil, 204, ""},
		{"undeclared mac", macNew, "", nil, 204, ""},
		{"bad mac", "not-a-mac", "", nil, 400, ""},
		{"short mac", "02:00:00:00:00", "", nil, 400, ""},
		{"broadcast mac", "ff:ff:ff:ff:ff:ff", "", nil, 400, ""},
		{"multicast mac", "01-00-5e-00-00-01", "", nil, 400, ""},
		{"all-zero mac", "00:00:00:00:00:00", "", nil, 400, ""},
		{"bad json", mac1, `{"detail":`, jsonType, 400, ""},
		{"detail with newline", mac1, `{"detail": "a\nb"}`, jsonType, 400, ""},
		{"long detail", mac1, `{"detail": "` + strings.Repeat("x", 300) + `"}`, jsonType, 400, ""},
		{"huge body", mac1, strings.Repeat("x", 5000), form, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(t, request{method: http.MethodPost, target: "/api/v1/machines/" + tt.mac + "/callback",
				body: tt.body, header: tt.header})
			if w.Code != tt.wantCode {
				t.Fatalf("POST callback = %d %q, want %d", w.Code, w.Body, tt.wantCode)
			}
			if tt.wantCode != http.StatusNoContent {
				wantJSONError(t, w.Header().Get("Content-Type"), w.Body.Bytes())
				if n := e.statusCount(t); n != 0 {
					t.Errorf("the store knows %d machines after a refused callback, want 0", n)
				}
				return
			}
			mac, _ := inventory.NormalizeMAC(strings.ReplaceAll(tt.mac, "%3A", ":"))
			events, err := e.inv.Timeline(mac)
			if err != nil || len(events) != 1 {
				t.Fatalf("Timeline(%s) = %v, %v, want one event", mac, events, err)
			}
			got := events[0]
			if got.Kind != inventory.EventOSCallback || got.IP != netip.MustParseAddr(ip1) || got.Detail != tt.wantDetail {
				t.Errorf("event = %+v, want os-callback from %s with detail %q", got, ip1, tt.wantDetail)
			}
		})
	}
}

// wantJSONError checks that body is {"error": "..."} with a message.
func wantJSONError(t *testing.T, contentType string, body []byte) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if contentType != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", contentType)
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("body %q is not {\"error\": ...}: %v", body, err)
	}
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}

// ignoreTimes leaves out what the store sets: times and sequence numbers.
var ignoreTimes = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}),
	cmpopts.IgnoreFields(MachineInfo{}, "FirstSeen"),
	cmpopts.IgnoreFields(inventory.Event{}, "Time", "Seq"),
}

func TestListMachines(t *testing.T) {
	e := newEnv(t)
	e.seen(t, mac1, ip1)
	e.seen(t, mac2, "10.99.0.60")
	e.get(t, "/ipxe?mac="+mac3+"&platform=efi") // node2's second NIC, from ip1
	e.get(t, "/ipxe?mac="+macNew)

	w := e.get(t, "/api/v1/machines")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/machines = %d %q", w.Code, w.Body)
	}
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	file := inventory.SourceFile
	want := []MachineInfo{
		{Name: "node1", MACs: []string{mac1}, Profile: "tiny", Labels: map[string]string{"rack": "r1"},
			Address: a(ip1), Source: file, ReadOnly: true, State: inventory.StateDiscovered, IP: a(ip1),
			LastEvent: &inventory.Event{Kind: inventory.EventDHCPOffer, IP: a(ip1)}},
		{Name: "node2", MACs: []string{mac2, mac3}, Profile: "tiny", Arch: inventory.ArchX64EFI,
			Source: file, ReadOnly: true, State: inventory.StateBooting, IP: a(ip1),
			LastEvent: &inventory.Event{Kind: inventory.EventScriptServed, IP: a(ip1), Detail: "arch=- platform=efi"}},
		{Name: "node4", MACs: []string{macBad}, Profile: "broken", Source: file, ReadOnly: true},
		{MACs: []string{macNew}, State: inventory.StateDiscovered, IP: a(ip1),
			LastEvent: &inventory.Event{Kind: inventory.EventDiscovered, IP: a(ip1), Detail: "arch=- platform=-"}},
	}
	page := decode[MachineList](t, w.Body.Bytes())
	if page.Total != 4 || page.Offset != 0 || page.Limit != defaultLimit {
		t.Errorf("GET /api/v1/machines = total %d, offset %d, limit %d; want 4, 0, %d",
			page.Total, page.Offset, page.Limit, defaultLimit)
	}
	got := page.Items
	if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
		t.Errorf("GET /api/v1/machines (-want +got):\n%s", diff)
	}
	if got[0].FirstSeen.IsZero() || !got[2].FirstSeen.IsZero() {
		t.Errorf("first_seen = %v and %v, want set for node1, unset for node4", got[0].FirstSeen, got[2].FirstSeen)
	}
}

func TestGetMachine(t *testing.T) {
	e := newEnv(t)
	e.seen(t, mac1, ip1)
	e.get(t, "/ipxe?mac="+macNew)
	tests := []struct {
		mac      string
		wantCode int
		wantName string
	}{
		{mac1, 200, "node1"},
		{"node2", 200, "node2"},
		{"02-00-00-00-00-03", 200, "node2"},
		{macNew, 200, ""},
		{"02:00:00:00:00:77", 404, ""},
		{"junk", 404, ""},
		{"Junk_1", 400, ""},
		{"ff:ff:ff:ff:ff:ff", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.mac, func(t *testing.T) {
			w := e.get(t, "/api/v1/machines/"+tt.mac)
			if w.Code != tt.wantCode {
				t.Fatalf("GET machine %s = %d %q, want %d", tt.mac, w.Code, w.Body, tt.wantCode)
			}
			if tt.wantCode != http.StatusOK {
				wantJSONError(t, w.Header().Get("Content-Type"), w.Body.Bytes())
				return
			}
			if got := decode[MachineInfo](t, w.Body.Bytes()); got.Name != tt.wantName {
				t.Errorf("GET machine %s name = %q, want %q", tt.mac, got.Name, tt.wantName)
			}
		})
	}
}

func TestTimeline(t *testing.T) {
	e := newEnv(t)
	e.seen(t, mac1, ip1)
	e.get(t, "/ipxe?mac="+mac1+"&platform=efi")
	e.get(t, "/assets/tiny/vmlinuz")
	e.do(t, request{method: http.MethodPost, target: "/api/v1/machines/" + mac1 + "/callback"})

	w := e.get(t, "/api/v1/machines/"+mac1+"/timeline")
	if w.Code != http.StatusOK {
		t.Fatalf("GET timeline = %d %q", w.Code, w.Body)
	}
	var kinds []inventory.EventKind
	for _, ev := range decode[[]inventory.Event](t, w.Body.Bytes()) {
		kinds = append(kinds, ev.Kind)
	}
	want := []inventory.EventKind{inventory.EventDHCPOffer, inventory.EventScriptServed,
		inventory.EventKernelFetched, inventory.EventOSCallback}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}

	tests := []struct {
		mac      string
		wantCode int
		wantBody string
	}{
		{mac2, 200, "[]\n"}, // declared, never seen
		{"02:00:00:00:00:77", 404, ""},
		{"02:00:00:00:00:0g", 400, ""},
	}
	for _, tt := range tests {
		w := e.get(t, "/api/v1/machines/"+tt.mac+"/timeline")
		if w.Code != tt.wantCode || tt.wantBody != "" && w.Body.String() != tt.wantBody {
			t.Errorf("GET timeline of %s = %d %q, want %d %q", tt.mac, w.Code, w.Body, tt.wantCode, tt.wantBody)
		}
	}

	// By name: every MAC of the machine, in the order recorded.
	if _, err := e.inv.Record("02:00:00:00:00:03", inventory.Event{Kind: inventory.EventDHCPOffer}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inv.Record("02:00:00:00:00:02", inventory.Event{Kind: inventory.EventOSCallback}); err != nil {
		t.Fatal(err)
	}
	w = e.get(t, "/api/v1/machines/node2/timeline")
	kinds = nil
	for _, ev := range decode[[]inventory.Event](t, w.Body.Bytes()) {
		kinds = append(kinds, ev.Kind)
	}
	want = []inventory.EventKind{inventory.EventDHCPOffer, inventory.EventOSCallback}
	if diff := cmp.Diff(want, kinds); w.Code != 200 || diff != "" {
		t.Errorf("GET timeline of node2 = %d, kinds (-want +got):\n%s", w.Code, diff)
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		target   string
		wantJSON bool
	}{
		{"/api/v1/nothing", true},
		{"/api/v1/machines/" + mac1 + "/other", true},
		{"/favicon.ico", false},
	}
	for _, tt := range tests {
		w := e.get(t, tt.target)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", tt.target, w.Code)
		}
		if isJSON := w.Header().Get("Content-Type") == "application/json"; isJSON != tt.wantJSON {
			t.Errorf("GET %s Content-Type = %q, want JSON %v", tt.target, w.Header().Get("Content-Type"), tt.wantJSON)
		}
	}
	w := e.do(t, request{method: http.MethodPatch, target: "/api/v1/machines/" + mac1})
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD, PUT, DELETE" {
		t.Errorf("PATCH machine = %d, Allow %q, want 405, Allow GET, HEAD, PUT, DELETE", w.Code, w.Header().Get("Allow"))
	}
	wantJSONError(t, w.Header().Get("Content-Type"), w.Body.Bytes())
}

// A MAC that only an operator's action touched (no first sighting) does
// not hide when the machine's other MAC was first seen.
func TestMergeKeepsTheFirstSighting(t *testing.T) {
	seen := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var mi MachineInfo
	mi.merge([]inventory.Status{
		{MAC: mac2, State: inventory.StateBooting, FirstSeen: seen, LastEvent: inventory.Event{Seq: 3}},
		{MAC: mac3, State: inventory.StateBooting, LastEvent: inventory.Event{Seq: 5}},
	})
	if !mi.FirstSeen.Equal(seen) {
		t.Errorf("FirstSeen = %v, want %v", mi.FirstSeen, seen)
	}
}
