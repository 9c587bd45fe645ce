package dhcp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

func options(mods ...dhcpv4.Modifier) dhcpv4.Options {
	return msg(discoverT, 1, mods...).Options
}

func TestClassify(t *testing.T) {
	const (
		pxe  = "PXEClient:Arch:00000:UNDI:002001"
		http = "HTTPClient:Arch:00016:UNDI:003000"
	)
	tests := []struct {
		name     string
		opts     dhcpv4.Options
		override inventory.Arch
		want     Class
	}{
		{"laptop", options(), "", Class{ArchCode: -1}},
		{"bios", options(pxeBIOS...), "", Class{Arch: inventory.ArchBIOS, ArchCode: 0, PXE: true}},
		{"ia32 efi", options(arch(6), vendor(pxe)), "", Class{Arch: inventory.ArchIA32EFI, ArchCode: 6, PXE: true}},
		{"x64 efi", options(pxeX64EFI...), "", Class{Arch: inventory.ArchX64EFI, ArchCode: 7, PXE: true}},
		{"efi bc is x64", options(arch(9), vendor(pxe)), "", Class{Arch: inventory.ArchX64EFI, ArchCode: 9, PXE: true}},
		{"arm32 efi", options(arch(10), vendor(pxe)), "", Class{Arch: inventory.ArchARM32EFI, ArchCode: 10, PXE: true}},
		{"arm64 efi", options(arch(11), vendor(pxe)), "", Class{Arch: inventory.ArchARM64EFI, ArchCode: 11, PXE: true}},
		{"x86 http", options(arch(15), vendor(http)), "", Class{Arch: inventory.ArchX86HTTP, ArchCode: 15, HTTP: true}},
		{"x64 http", options(httpX64...), "", Class{Arch: inventory.ArchX64HTTP, ArchCode: 16, HTTP: true}},
		{"arm64 http", options(arch(19), vendor(http)), "", Class{Arch: inventory.ArchARM64HTTP, ArchCode: 19, HTTP: true}},
		{"http arch without vendor class", options(arch(16)), "", Class{Arch: inventory.ArchX64HTTP, ArchCode: 16, HTTP: true}},
		{"PXEClient claiming an http arch stays PXE", options(arch(16), vendor(pxe)), "",
			Class{Arch: inventory.ArchX64EFI, ArchCode: 16, PXE: true}},
		{"HTTPClient claiming a PXE arch stays HTTP", options(arch(7), vendor(http)), "",
			Class{Arch: inventory.ArchX64HTTP, ArchCode: 7, HTTP: true}},
		{"unknown arch", options(arch(2), vendor(pxe)), "",
			Class{ArchCode: 2, PXE: true, Notes: []string{"architecture type 2 unsupported"}}},
		{"override beats option 93", options(pxeBIOS...), inventory.ArchX64EFI,
			Class{Arch: inventory.ArchX64EFI, ArchCode: 0, PXE: true}},
		{"override on an unknown arch", options(arch(2), vendor(pxe)), inventory.ArchARM64EFI,
			Class{Arch: inventory.ArchARM64EFI, ArchCode: 2, PXE: true, Notes: []string{"architecture type 2 unsupported"}}},
		{"override follows the transport", options(httpX64...), inventory.ArchARM64EFI,
			Class{Arch: inventory.ArchARM64HTTP, ArchCode: 16, HTTP: true}},
		{"bios cannot http boot", options(httpX64...), inventory.ArchBIOS,
			Class{ArchCode: 16, HTTP: true, Notes: []string{"no HTTP Boot variant of bios"}}},
		{"invalid override ignored", options(pxeBIOS...), "sparc", Class{Arch: inventory.ArchBIOS, PXE: true}},
		{"arch from option 60 when 93 is absent", options(vendor("PXEClient:Arch:00007:UNDI:003000")), "",
			Class{Arch: inventory.ArchX64EFI, ArchCode: 7, PXE: true}},
		{"no arch anywhere", options(vendor("PXEClient")), "", Class{ArchCode: -1, PXE: true}},
		{"garbled arch in option 60", options(vendor("PXEClient:Arch:0x7")), "", Class{ArchCode: -1, PXE: true}},
		{"option 93 of one byte", options(opt(optClientArch, []byte{7}), vendor(pxe)), "",
			Class{ArchCode: -1, PXE: true, Notes: []string{"option 93 has 1 bytes"}}},
		{"option 93 of three bytes", options(opt(optClientArch, []byte{0, 7, 0}), vendor(pxe)), "",
			Class{ArchCode: -1, PXE: true, Notes: []string{"option 93 has 3 bytes"}}},
		{"option 93 lists two, first wins", options(arch(7, 0), vendor(pxe)), "",
			Class{Arch: inventory.ArchX64EFI, ArchCode: 7, PXE: true}},
		{"lower-case pxeclient is not PXE", options(vendor("pxeclient")), "", Class{ArchCode: -1}},

		{"ipxe raw user class", options(opt(optUserClass, []byte("iPXE"))), "", Class{ArchCode: -1, IPXE: true}},
		{"ipxe rfc 3004 user class", options(opt(optUserClass, []byte("\x04iPXE"))), "", Class{ArchCode: -1, IPXE: true}},
		{"ipxe second rfc 3004 class", options(opt(optUserClass, []byte("\x03foo\x04iPXE"))), "", Class{ArchCode: -1, IPXE: true}},
		{"option 175 alone", options(opt(optIPXEEncap, []byte{0x13, 1, 1})), "", Class{ArchCode: -1, IPXE: true}},
		{"empty option 175", options(opt(optIPXEEncap, nil)), "", Class{ArchCode: -1, IPXE: true}},
		{"rfc 3004 length past the end", options(opt(optUserClass, []byte("\x05iPXE"))), "", Class{ArchCode: -1}},
		{"rfc 3004 truncated", options(opt(optUserClass, []byte("\x04iP"))), "", Class{ArchCode: -1}},
		{"rfc 3004 zero length", options(opt(optUserClass, []byte("\x00iPXE"))), "", Class{ArchCode: -1}},
		{"longer raw class", options(opt(optUserClass, []byte("iPXEv2"))), "", Class{ArchCode: -1}},
		{"other user class", options(opt(optUserClass, []byte("\x05gPXE!"))), "", Class{ArchCode: -1}},

		{"uuid", options(opt(optClientUUID, testUUID)), "", Class{ArchCode: -1, UUID: testUUID}},
		{"uuid of 16 bytes", options(opt(optClientUUID, testUUID[1:])), "",
			Class{ArchCode: -1, Notes: []string{"option 97 malformed (16 bytes), ignored"}}},
		{"uuid of type 1", options(opt(optClientUUID, append([]byte{1}, testUUID[1:]...))), "",
			Class{ArchCode: -1, Notes: []string{"option 97 malformed (17 bytes), ignored"}}},
		{"empty uuid", options(opt(optClientUUID, nil)), "",
			Class{ArchCode: -1, Notes: []string{"option 97 malformed (0 bytes), ignored"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.opts, tc.override)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Classify(%v, %q) differs (-want +got):\n%s", tc.opts, tc.override, diff)
			}
		})
	}
}

func TestClassifyKeepsNoReference(t *testing.T) {
	opts := options(opt(optClientUUID, append([]byte(nil), testUUID...)))
	c := Classify(opts, "")
	opts[optClientUUID][1] = 0
	if c.UUID[1] != testUUID[1] {
		t.Error("Classify's UUID aliases the packet's bytes")
	}
}

func TestBootFor(t *testing.T) {
	cfg := testConfig(ModeProxy)
	cfg.Loaders = map[inventory.Arch]string{
		inventory.ArchARM64EFI: "", // turned off
		inventory.ArchBIOS:     "custom/undi.kpxe",
	}
	s, err := NewServer(cfg, inventory.New(nil, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		File   string
		TFTP   bool
		Vendor string
	}
	tests := []struct {
		name  string
		class Class
		want  result
		why   string // non-empty: no boot parameters
	}{
		{"bios from config", Class{Arch: inventory.ArchBIOS, PXE: true}, result{"custom/undi.kpxe", true, vendorPXE}, ""},
		{"x64 efi default", Class{Arch: inventory.ArchX64EFI, PXE: true}, result{"ipxe.efi", true, vendorPXE}, ""},
		{"ia32 efi default", Class{Arch: inventory.ArchIA32EFI, PXE: true}, result{"ipxe-i386.efi", true, vendorPXE}, ""},
		{"x64 http", Class{Arch: inventory.ArchX64HTTP, HTTP: true}, result{httpURL + "/loaders/ipxe.efi", false, vendorHTTP}, ""},
		{"arm64 http", Class{Arch: inventory.ArchARM64HTTP, HTTP: true}, result{httpURL + "/loaders/ipxe-arm64.efi", false, vendorHTTP}, ""},
		{"ipxe gets the script", Class{Arch: inventory.ArchBIOS, PXE: true, IPXE: true}, result{ipxeScript, false, vendorPXE}, ""},
		{"ipxe of unknown arch", Class{IPXE: true}, result{ipxeScript, false, ""}, ""},
		{"arm64 efi turned off", Class{Arch: inventory.ArchARM64EFI, PXE: true}, result{}, "no loader for arm64-efi"},
		{"arm32 has no default", Class{Arch: inventory.ArchARM32EFI, PXE: true}, result{}, "no loader for arm32-efi"},
		{"x86 http has no default", Class{Arch: inventory.ArchX86HTTP, HTTP: true}, result{}, "no loader for x86-http"},
		{"unknown arch", Class{PXE: true}, result{}, "unknown architecture"},
		{"not booting", Class{Arch: inventory.ArchBIOS}, result{}, "not a network-boot client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, why, ok := s.bootFor(tc.class)
			got := result{b.file, b.tftp, b.vendor}
			if ok != (tc.why == "") || why != tc.why || got != tc.want {
				t.Errorf("bootFor(%+v) = %+v, %q, %v; want %+v, %q", tc.class, got, why, ok, tc.want, tc.why)
			}
		})
	}
}

func TestBootItem(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"absent", nil, nil},
		{"alone", []byte{71, 4, 0x80, 0, 0, 1, 255}, []byte{71, 4, 0x80, 0, 0, 1}},
		{"after others and pads", []byte{6, 1, 8, 0, 0, 71, 4, 1, 2, 3, 4}, []byte{71, 4, 1, 2, 3, 4}},
		{"after end", []byte{255, 71, 4, 1, 2, 3, 4}, nil},
		{"truncated", []byte{71, 4, 1, 2}, nil},
		{"length byte missing", []byte{71}, nil},
		{"wrong length", []byte{71, 3, 1, 2, 3}, nil},
		{"earlier sub-option overruns", []byte{6, 9, 8, 71, 4, 1, 2, 3, 4}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := bootItem(tc.in)
			if ok != (tc.want != nil) || string(got) != string(tc.want) {
				t.Errorf("bootItem(% x) = % x, %v; want % x", tc.in, got, ok, tc.want)
			}
		})
	}
}
