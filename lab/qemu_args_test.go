package lab

import (
	"slices"
	"strings"
	"testing"
)

func TestQemuArgs(t *testing.T) {
	const (
		code  = "if=pflash,format=raw,readonly=on,file=" + ovmfCode
		vars  = "if=pflash,format=raw,file=vars.fd"
		noPXE = "name=opt/org.tianocore/IPv4PXESupport,string=n"
		nic   = "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01"
	)
	tests := []struct {
		name    string
		fw      firmware
		nic     string
		with    []string
		without []string
	}{
		{"uefi-pxe", uefiPXE, nic + ",romfile=", []string{code, vars}, []string{noPXE, "-kernel"}},
		{"uefi-http", uefiHTTP, nic + ",romfile=", []string{code, vars, noPXE}, []string{"-kernel"}},
		{"bios-ipxe", biosIPXE, nic + ",bootindex=1", nil, []string{code, noPXE, "-kernel"}},
		{"direct", direct, nic + ",romfile=",
			[]string{"-kernel", "vmlinuz", "-initrd", "initrd.gz"}, []string{code}},
	}
	always := []string{"q35,accel=tcg", "-no-reboot", "file:console.log",
		"tap,id=n0,ifname=tap0,script=no,downscript=no"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := guest{name: "g", mac: "52:54:00:00:00:01", fw: tt.fw,
				kernel: "vmlinuz", initrd: "initrd.gz"}
			args := qemuArgs(g, "tap0", "console.log", "vars.fd")
			line := strings.Join(args, " ")
			if got := args[len(args)-1]; got != tt.nic {
				t.Errorf("qemuArgs(%s) NIC = %s, want %s", tt.name, got, tt.nic)
			}
			for _, a := range append(always, tt.with...) {
				if !slices.Contains(args, a) {
					t.Errorf("qemuArgs(%s) = %s, want %s in it", tt.name, line, a)
				}
			}
			for _, a := range tt.without {
				if slices.Contains(args, a) {
					t.Errorf("qemuArgs(%s) = %s, want no %s", tt.name, line, a)
				}
			}
		})
	}
}
