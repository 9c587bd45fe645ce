package web

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

func TestChainScript(t *testing.T) {
	e := newEnv(t)
	w := e.get(t, "/boot.ipxe")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /boot.ipxe = %d, want 200", w.Code)
	}
	if diff := cmp.Diff(golden(t, "chain.ipxe"), w.Body.String()); diff != "" {
		t.Errorf("GET /boot.ipxe (-want +got):\n%s", diff)
	}
	if n := e.statusCount(t); n != 0 {
		t.Errorf("after GET /boot.ipxe the store knows %d machines, want 0", n)
	}
}

func TestScriptKnownMachine(t *testing.T) {
	tests := []struct {
		name, query, mac, golden, detail string
	}{
		{"bios", "mac=02-00-00-00-00-01&uuid=&arch=i386&platform=pcbios",
			mac1, "boot-bios.ipxe", "arch=i386 platform=pcbios"},
		{"efi", "mac=02-00-00-00-00-01&uuid=4C4C4544-0000-0000-0000-000000000001&arch=x86_64&platform=efi",
			mac1, "boot-efi.ipxe", "arch=x86_64 platform=efi"},
		{"colons escaped", "mac=02%3A00%3A00%3A00%3A00%3A01&platform=efi",
			mac1, "boot-efi.ipxe", "arch=- platform=efi"},
		{"no platform, declared bios", "mac=02:00:00:00:00:01",
			mac1, "boot-bios.ipxe", "arch=- platform=-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.get(t, "/ipxe?"+tt.query)
			if w.Code != http.StatusOK {
				t.Fatalf("GET /ipxe?%s = %d %q, want 200", tt.query, w.Code, w.Body)
			}
			if diff := cmp.Diff(golden(t, tt.golden), w.Body.String()); diff != "" {
				t.Errorf("script (-want +got):\n%s", diff)
			}
			events, err := e.inv.Timeline(tt.mac)
			if err != nil || len(events) != 1 {
				t.Fatalf("Timeline(%s) = %v, %v, want one event", tt.mac, events, err)
			}
			got := events[0]
			want := inventory.Event{Kind: inventory.EventScriptServed,
				IP: netip.MustParseAddr(ip1), Detail: tt.detail}
			if got.Kind != want.Kind || got.IP != want.IP || got.Detail != want.Detail {
				t.Errorf("event = %+v, want %+v", got, want)
			}
		})
	}
}

// A machine declared x64-efi that reports no platform gets initrd= names.
func TestScriptDeclaredArchDecides(t *testing.T) {
	e := newEnv(t)
	w := e.get(t, "/ipxe?mac="+mac3)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), " initrd=initrd.gz ") {
		t.Fatalf("GET /ipxe?mac=%s = %d\n%s\nwant a kernel line with initrd=initrd.gz", mac3, w.Code, w.Body)
	}
}

func TestScriptUnknownMachine(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		w := e.get(t, "/ipxe?mac="+macNew+"&arch=x86_64&platform=efi")
		if w.Code != http.StatusOK {
			t.Fatalf("ask %d: GET /ipxe = %d, want 200", i, w.Code)
		}
		if diff := cmp.Diff(golden(t, "unknown.ipxe"), w.Body.String()); diff != "" {
			t.Fatalf("ask %d: script (-want +got):\n%s", i, diff)
		}
	}
	want := []inventory.EventKind{inventory.EventDiscovered}
	if diff := cmp.Diff(want, e.kinds(t, macNew)); diff != "" {
		t.Errorf("timeline after 3 asks (-want +got):\n%s", diff)
	}
	st, err := e.inv.Status(macNew)
	if err != nil || st.State != inventory.StateDiscovered || st.IP != netip.MustParseAddr(ip1) {
		t.Errorf("Status(%s) = %+v, %v, want discovered at %s", macNew, st, err, ip1)
	}
}

// A profile the renderer refuses is rackboot's fault: 500, an error event,
// and no script.
func TestScriptRenderError(t *testing.T) {
	e := newEnv(t)
	w := e.get(t, "/ipxe?mac="+macBad+"&platform=efi")
	if w.Code != http.StatusInternalServerError || strings.HasPrefix(w.Body.String(), "#!ipxe") {
		t.Fatalf("GET /ipxe = %d %q, want 500 without a script", w.Code, w.Body)
	}
	if diff := cmp.Diff([]inventory.EventKind{inventory.EventError}, e.kinds(t, macBad)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.logs.String(), "expand a setting") {
		t.Errorf("log does not say why:\n%s", e.logs)
	}
}

func TestScriptBadQuery(t *testing.T) {
	tests := []struct{ name, query, want string }{
		{"no mac", "arch=x86_64", "mac: required"},
		{"empty", "", "mac: required"},
		{"bad mac", "mac=02:00:00:00:00", "parsing mac"},
		{"eight-byte mac", "mac=02:00:00:00:00:00:00:01", "at most 17"},
		{"newline in mac", "mac=02:00:00:00:0%0A:01", "byte 0x0a"},
		{"long arch", "mac=" + mac1 + "&arch=" + strings.Repeat("x", 17), "arch: 17 bytes"},
		{"control char", "mac=" + mac1 + "&platform=ef%01i", "byte 0x01"},
		{"unknown key", "mac=" + mac1 + "&shell=1", `unknown parameter "shell"`},
		{"mac twice", "mac=" + mac1 + "&mac=" + mac2, "given 2 times"},
		{"semicolon", "mac=" + mac1 + ";arch=x", "parsing query"},
		{"bad escape", "mac=%zz", "parsing query"},
		{"bad uuid", "mac=" + mac1 + "&uuid=not-a-uuid", "8-4-4-4-12"},
		{"huge", "mac=" + mac1 + "&arch=" + strings.Repeat("a", 600), "at most 512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.get(t, "/ipxe?"+tt.query)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("GET /ipxe?%s = %d %q, want 400 with %q", tt.query, w.Code, w.Body, tt.want)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			if n := e.statusCount(t); n != 0 {
				t.Errorf("the store knows %d machines after a bad query, want 0", n)
			}
		})
	}
}

func TestScriptWrongMethod(t *testing.T) {
	e := newEnv(t)
	w := e.do(t, request{method: http.MethodPost, target: "/ipxe?mac=" + mac1})
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET" {
		t.Errorf("POST /ipxe = %d, Allow %q, want 405, Allow GET", w.Code, w.Header().Get("Allow"))
	}
	if n := e.statusCount(t); n != 0 {
		t.Errorf("the store knows %d machines after POST /ipxe, want 0", n)
	}
}
