package ipxe

import (
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

func withLocalBoot(p inventory.Profile, how inventory.LocalBoot) inventory.Profile {
	p.LocalBoot = how
	return p
}

func TestLocalGolden(t *testing.T) {
	s := newScripts(t)
	tests := []struct {
		file string
		t    Target
	}{
		{"local-bios.ipxe", Target{MAC: "02-00-00-00-00-01", Machine: node1, Profile: tiny}},
		{"local-efi.ipxe", Target{MAC: node1.MACs[0], Machine: node1, Profile: tiny, EFI: true}},
		{"local-efi-sanboot.ipxe", Target{MAC: node1.MACs[0], Machine: node1,
			Profile: withLocalBoot(tiny, inventory.LocalBootSanboot), EFI: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := s.Local(tt.t)
			if err != nil {
				t.Fatalf("Local: %v", err)
			}
			golden(t, tt.file, got)
		})
	}
}

func TestLocalMethod(t *testing.T) {
	tests := []struct {
		name string
		how  inventory.LocalBoot // the profile's local_boot
		efi  bool
		want inventory.LocalBoot
	}{
		{"bios default", "", false, inventory.LocalBootSanboot},
		{"uefi default", "", true, inventory.LocalBootExit},
		{"bios exit", inventory.LocalBootExit, false, inventory.LocalBootExit},
		{"uefi sanboot", inventory.LocalBootSanboot, true, inventory.LocalBootSanboot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := Target{Profile: withLocalBoot(tiny, tt.how), EFI: tt.efi}
			if got := LocalMethod(tg); got != tt.want {
				t.Errorf("LocalMethod(local_boot %q, efi %v) = %q, want %q", tt.how, tt.efi, got, tt.want)
			}
		})
	}
}

// An installed machine's script never fetches the installer: no kernel,
// initrd or boot command, whatever the method.
func TestLocalNeverInstalls(t *testing.T) {
	s := newScripts(t)
	for _, how := range []inventory.LocalBoot{"", inventory.LocalBootExit, inventory.LocalBootSanboot} {
		for _, efi := range []bool{false, true} {
			got, err := s.Local(Target{MAC: node1.MACs[0], Machine: node1,
				Profile: withLocalBoot(tiny, how), EFI: efi})
			if err != nil {
				t.Fatalf("Local(%q, efi %v): %v", how, efi, err)
			}
			for _, line := range strings.Split(string(got), "\n") {
				f := strings.Fields(line)
				if len(f) > 0 && (f[0] == "kernel" || f[0] == "initrd" || f[0] == "boot") {
					t.Errorf("Local(%q, efi %v) runs %q:\n%s", how, efi, line, got)
				}
			}
		}
	}
}

func TestLocalRefusesBadInput(t *testing.T) {
	s := newScripts(t)
	tests := []struct {
		name string
		t    Target
		want string
	}{
		{"bad mac", Target{MAC: "02:00:00:00:00", Machine: node1, Profile: tiny}, "parsing mac"},
		{"bad method", Target{MAC: node1.MACs[0], Machine: node1,
			Profile: withLocalBoot(tiny, "grub")}, `local_boot "grub"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Local(tt.t)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Local() = %q, %v, want error containing %q", got, err, tt.want)
			}
		})
	}
}
