package ipxe

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

func TestCheckProfile(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		initrds []string
		wantErr string // "" means accepted
	}{
		{"plain", "console=ttyS0 panic=-1", []string{"a/initrd.gz"}, ""},
		{"no args, no initrd", "", nil, ""},
		{"lone dollar", "x=$HOME y=$", nil, ""},
		{"hash inside a token", "a#b", nil, ""},
		{"semicolon inside a token", "a=b;c", nil, ""},
		{"quotes", `acpi_osi="!Windows 2012"`, nil, ""},
		{"newline", "quiet\nshell", nil, "byte 0x0a at offset 5"},
		{"carriage return", "quiet\r", nil, "byte 0x0d"},
		{"tab", "a\tb", nil, "byte 0x09"},
		{"nul", "a\x00b", nil, "byte 0x00"},
		{"delete", "a\x7f", nil, "byte 0x7f"},
		{"non-ascii", "hostname=café", nil, "not printable ASCII"},
		{"setting", "ip=${net0/ip}", nil, `"${" at offset 3`},
		{"nested setting", "x=$${a}", nil, "expand a setting"},
		{"or", "quiet || shell", nil, `token "||"`},
		{"and", "quiet && shell", nil, `token "&&"`},
		{"semicolon", "quiet ; shell", nil, `token ";"`},
		{"comment", "quiet #rest", nil, "iPXE comment"},
		{"too long", strings.Repeat("a", MaxCmdline+1), nil, "Linux keeps 2048"},
		{"initrd names push it over", strings.Repeat("a", MaxCmdline-10),
			[]string{"i/initrd.gz"}, "Linux keeps 2048"},
		{"same initrd name", "", []string{"a/initrd.gz", "b/initrd.gz"}, `iPXE names it "initrd.gz"`},
		{"same name but case", "", []string{"a/initrd.gz", "b/INITRD.GZ"}, "iPXE names it"},
		{"initrd named like the kernel", "", []string{"k/VMLINUZ"}, `like "k/vmlinuz"`},
		{"space in initrd name", "", []string{"a/my initrd.gz"}, "must be letters"},
		{"dollar in initrd name", "", []string{"a/${x}"}, "must be letters"},
		{"dash first", "", []string{"a/-x"}, "must be letters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := inventory.Profile{Name: "p", Kernel: "k/vmlinuz", Initrds: tt.initrds, Args: tt.args}
			err := CheckProfile(p)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CheckProfile(%q) = %v, want nil", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("CheckProfile(%q) = %v, want error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestCheckProfileNoKernel(t *testing.T) {
	if err := CheckProfile(inventory.Profile{Name: "p"}); err == nil {
		t.Fatal("CheckProfile(no kernel) = nil, want error")
	}
}

// FuzzBootArgs checks that whatever CheckProfile accepts renders into a
// script that Check accepts and whose kernel line reaches iPXE's tokenizer
// as exactly the URL, the initrd names and the profile's own arguments.
func FuzzBootArgs(f *testing.F) {
	for _, a := range []string{"console=ttyS0 panic=-1", "a || b", "${x}", "#", "a\nb", "x=$ {y}"} {
		f.Add(a, "d/initrd.gz", true)
	}
	s, err := New(Config{BaseURL: "http://192.0.2.10:8080"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, args, initrd string, efi bool) {
		p := inventory.Profile{Name: "p", Kernel: "k/vmlinuz", Initrds: []string{initrd}, Args: args}
		if CheckProfile(p) != nil {
			return
		}
		script, err := s.Boot(Target{MAC: "02:00:00:00:00:01", Machine: node1, Profile: p, EFI: efi})
		if err != nil {
			t.Fatalf("CheckProfile accepted %q but Boot failed: %v", args, err)
		}
		want := []string{"http://192.0.2.10:8080/assets/k/vmlinuz"}
		if efi {
			want = append(want, "initrd="+imageName(initrd))
		}
		want = append(want, strings.Fields(args)...)
		if diff := cmp.Diff(want, command(t, script, "kernel")); diff != "" {
			t.Errorf("kernel line of args %q (-want +got):\n%s", args, diff)
		}
	})
}
