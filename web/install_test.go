package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

const (
	biosQuery = "&arch=i386&platform=pcbios"
	efiQuery  = "&arch=x86_64&platform=efi"
)

// script fetches mac's script and returns it with the detail of the
// script-served event it recorded.
func (e *env) script(t *testing.T, mac, query string) (string, string) {
	t.Helper()
	w := e.get(t, "/ipxe?mac="+mac+query)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /ipxe?mac=%s%s = %d %q, want 200", mac, query, w.Code, w.Body)
	}
	events, err := e.inv.Timeline(mac)
	if err != nil || len(events) == 0 {
		t.Fatalf("Timeline(%s) = %v, %v", mac, events, err)
	}
	last := events[len(events)-1]
	if last.Kind != inventory.EventScriptServed {
		t.Fatalf("last event of %s = %s, want script-served", mac, last.Kind)
	}
	return w.Body.String(), last.Detail
}

func (e *env) callback(t *testing.T, mac string) {
	t.Helper()
	w := e.do(t, request{method: http.MethodPost, target: "/api/v1/machines/" + mac + "/callback"})
	if w.Code != http.StatusNoContent {
		t.Fatalf("POST callback of %s = %d %q, want 204", mac, w.Code, w.Body)
	}
}

func TestInstallOnce(t *testing.T) {
	tests := []struct {
		name, query string
		installer   string // golden script before the callback
		local       string // golden script after it
		detail      string // of the local script's script-served event
	}{
		{"bios", biosQuery, "boot-bios.ipxe", "local-bios.ipxe",
			"local boot by sanboot, installed in generation 1, arch=i386 platform=pcbios"},
		{"efi", efiQuery, "boot-efi.ipxe", "local-efi.ipxe",
			"local boot by exit, installed in generation 1, arch=x86_64 platform=efi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			got, _ := e.script(t, mac1, tt.query)
			if diff := cmp.Diff(golden(t, tt.installer), got); diff != "" {
				t.Fatalf("first script (-want +got):\n%s", diff)
			}
			e.callback(t, mac1)
			for i := range 2 { // every reboot, not only the next
				got, detail := e.script(t, mac1, tt.query)
				if diff := cmp.Diff(golden(t, tt.local), got); diff != "" {
					t.Errorf("script after install, boot %d (-want +got):\n%s", i, diff)
				}
				if detail != tt.detail {
					t.Errorf("script-served detail = %q, want %q", detail, tt.detail)
				}
			}
			if _, err := e.inv.NewGeneration("node1"); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.script(t, mac1, tt.query); got != golden(t, tt.installer) {
				t.Errorf("script in a new generation =\n%s\nwant the installer %s", got, tt.installer)
			}
		})
	}
}

// The machine is installed, not the MAC: node2 installed through one NIC
// boots its disk through the other.
func TestInstallOnceIsPerMachine(t *testing.T) {
	e := newEnv(t)
	e.script(t, mac2, efiQuery)
	e.callback(t, mac2)
	if _, detail := e.script(t, mac3, efiQuery); !strings.HasPrefix(detail, "local boot") {
		t.Errorf("script-served detail of %s = %q, want a local boot", mac3, detail)
	}
	if _, detail := e.script(t, mac1, efiQuery); strings.HasPrefix(detail, "local boot") {
		t.Errorf("script-served detail of node1 = %q, want the installer", detail)
	}
}

// A callback counts only when its generation served the installer: one
// from an OS still up after a reprovision, or from a machine that never
// network-booted, marks nothing.
func TestCallbackWithoutInstaller(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env)
	}{
		{"never served", func(t *testing.T, e *env) {}},
		{"served in the last generation", func(t *testing.T, e *env) {
			e.script(t, mac1, biosQuery)
			if _, err := e.inv.NewGeneration("node1"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(t, e)
			e.callback(t, mac1)
			prov, err := e.inv.Provision("node1")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := prov.Steps[inventory.StepInstalled]; ok {
				t.Errorf("Provision(node1).Steps = %v, want no %s", prov.Steps, inventory.StepInstalled)
			}
			if got, detail := e.script(t, mac1, biosQuery); got != golden(t, "boot-bios.ipxe") {
				t.Errorf("script after the callback (%s) =\n%s\nwant the installer", detail, got)
			}
		})
	}
}

// A callback from a machine the catalog does not declare is recorded and
// changes no provisioning.
func TestCallbackUndeclared(t *testing.T) {
	e := newEnv(t)
	e.callback(t, macNew)
	if got := e.kinds(t, macNew); !cmp.Equal(got, []inventory.EventKind{inventory.EventOSCallback}) {
		t.Errorf("timeline of %s = %v, want [os-callback]", macNew, got)
	}
}

// A profile's local_boot beats the firmware's default.
func TestInstallOnceProfileOverride(t *testing.T) {
	e := newEnv(t)
	cat, err := inventory.ParseCatalog([]byte(strings.Replace(catalogYAML,
		"    args: \"console=ttyS0", "    local_boot: exit\n    args: \"console=ttyS0", 1)))
	if err != nil {
		t.Fatal(err)
	}
	e.inv.SetCatalog(cat)
	e.script(t, mac1, biosQuery)
	e.callback(t, mac1)
	got, detail := e.script(t, mac1, biosQuery)
	if !strings.Contains(got, "\nexit 1\n") || !strings.HasPrefix(detail, "local boot by exit") {
		t.Errorf("BIOS script with local_boot exit (%s) =\n%s\nwant exit 1", detail, got)
	}
}
