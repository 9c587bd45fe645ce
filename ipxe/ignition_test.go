package ipxe

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

// withIgnition returns the tiny profile booting os with Ignition settings
// (only OS matters to the script).
func withIgnition(os inventory.IgnitionOS) inventory.Profile {
	p := tiny
	p.Args = "console=ttyS0"
	p.Ignition = &inventory.IgnitionSettings{OS: os}
	return p
}

func TestGoldenIgnition(t *testing.T) {
	s := newScripts(t)
	tests := []struct {
		file string
		os   inventory.IgnitionOS
	}{
		{"boot-flatcar-ignition.ipxe", inventory.OSFlatcar},
		{"boot-fcos-ignition.ipxe", inventory.OSFCOS},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := s.Boot(Target{MAC: node1.MACs[0], Machine: node1, Profile: withIgnition(tt.os), EFI: true})
			if err != nil {
				t.Fatalf("Boot: %v", err)
			}
			golden(t, tt.file, got)
		})
	}
}

func TestBootIgnitionArgs(t *testing.T) {
	s := newScripts(t)
	url := "ignition.config.url=http://192.0.2.10:8080/ignition?mac=02-00-00-00-00-01&uuid=${uuid}"
	tests := []struct {
		os   inventory.IgnitionOS
		want []string
	}{
		{inventory.OSFlatcar, []string{"flatcar.first_boot=1", url}},
		{inventory.OSFCOS, []string{"ignition.firstboot", "ignition.platform.id=metal", url}},
	}
	for _, tt := range tests {
		t.Run(string(tt.os), func(t *testing.T) {
			script, err := s.Boot(Target{MAC: "02:00:00:00:00:01", Machine: node1, Profile: withIgnition(tt.os)})
			if err != nil {
				t.Fatalf("Boot: %v", err)
			}
			line := command(t, script, "kernel")
			if diff := cmp.Diff(tt.want, line[len(line)-len(tt.want):]); diff != "" {
				t.Errorf("end of the kernel line (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBootWithoutIgnitionHasNoIgnitionArgs(t *testing.T) {
	script, err := newScripts(t).Boot(Target{MAC: "02:00:00:00:00:01", Machine: node1, Profile: tiny})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(script), "ignition") || strings.Contains(string(script), "${uuid}") {
		t.Errorf("script of a profile without Ignition mentions it:\n%s", script)
	}
}

func TestCheckProfileIgnitionURL(t *testing.T) {
	p := withIgnition(inventory.OSFlatcar)
	p.Args = "console=ttyS0 ignition.config.url=http://elsewhere/x.ign"
	if err := CheckProfile(p); err == nil || !strings.Contains(err.Error(), "leave ignition.config.url= out") {
		t.Fatalf("CheckProfile = %v, want the ignition.config.url error", err)
	}
	p.Ignition = nil // without Ignition settings the operator may set it
	if err := CheckProfile(p); err != nil {
		t.Fatalf("CheckProfile without Ignition settings = %v, want nil", err)
	}
}
