package lab

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// Firmware and tools the lab needs, as Debian installs them.
const (
	qemuBin   = "qemu-system-x86_64"
	ovmfCode  = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars  = "/usr/share/OVMF/OVMF_VARS_4M.fd"
	tinyosMsg = "RACKBOOT-TINYOS-OK"
)

// firmware is how a guest starts its network boot.
type firmware int

const (
	// uefiPXE is OVMF's own PXE (and, failing that, HTTP Boot) client: the
	// NIC's iPXE option ROM is removed.
	uefiPXE firmware = iota
	// uefiHTTP is OVMF's HTTP Boot client. OVMF tries PXEv4, PXEv6 and then
	// HTTPv4; fw_cfg knobs switch PXE off, which saves two minutes of PXE
	// timeouts.
	uefiHTTP
	// biosIPXE is SeaBIOS running the NIC's iPXE option ROM.
	biosIPXE
	// direct boots the tiny OS with -kernel/-initrd, no firmware boot.
	direct
)

// guest is one virtual machine of the lab.
type guest struct {
	name string // machine name in testdata/lab/inventory.yaml
	mac  string // canonical form
	fw   firmware
	// want lists the timeline stages rackboot must record for the MAC, in
	// order; other events may come between them.
	want []inventory.EventKind
	// kernel, initrd and args are for direct boots only.
	kernel, initrd, args string
}

// qemuArgs returns QEMU's arguments for g with its NIC on tap, its console
// in console and, under UEFI, its own copy of the OVMF variables in vars.
func qemuArgs(g guest, tap, console, vars string) []string {
	args := []string{
		"-name", g.name,
		"-machine", "q35,accel=tcg", "-cpu", "max", "-m", "512",
		"-nodefaults", "-nographic", "-no-reboot",
		"-monitor", "none", "-serial", "file:" + console,
		"-netdev", "tap,id=n0,ifname=" + tap + ",script=no,downscript=no",
	}
	nic := "virtio-net-pci,netdev=n0,mac=" + g.mac
	switch g.fw {
	case uefiPXE, uefiHTTP:
		args = append(args,
			"-drive", "if=pflash,format=raw,readonly=on,file="+ovmfCode,
			"-drive", "if=pflash,format=raw,file="+vars)
		nic += ",romfile="
	}
	switch g.fw {
	case uefiHTTP:
		// OvmfPkg/RUNTIME_CONFIG.md in edk2.
		args = append(args,
			"-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n",
			"-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n")
	case biosIPXE:
		nic += ",bootindex=1"
	case direct:
		args = append(args, "-kernel", g.kernel, "-initrd", g.initrd, "-append", g.args)
		nic += ",romfile="
	}
	return append(args, "-device", nic)
}

// vm is a running guest.
type vm struct {
	*proc
	console string
}

// bootGuest creates a tap device for g in n and starts QEMU on it. Files
// go to t's artifact directory; a failed test shows the console's end.
func bootGuest(t testing.TB, n *netns, g guest, tap string) *vm {
	t.Helper()
	dir := t.ArtifactDir()
	n.addTap(t, tap)
	vars := filepath.Join(dir, g.name+"-vars.fd")
	if g.fw == uefiPXE || g.fw == uefiHTTP {
		copyFile(t, ovmfVars, vars)
	}
	console := filepath.Join(dir, g.name+"-console.log")
	cmd := n.command(qemuBin, qemuArgs(g, tap, console, vars)...)
	p := startProc(t, g.name+"-qemu", dir, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of %s's console (%s):\n%s", g.name, console, tail(console, 40))
		}
	})
	return &vm{proc: p, console: console}
}

// sawMarker reports whether the tiny OS printed its success line.
func (v *vm) sawMarker() bool {
	b, _ := os.ReadFile(v.console)
	return strings.Contains(string(b), tinyosMsg)
}

// Console lines that say the boot chain failed: iPXE ran out of network
// devices, or the firmware out of boot options (the guest then waits in
// OVMF's shell or for a key).
var gaveUpLines = []string{"No more network devices", `"EFI Internal Shell"`, "No bootable device"}

// gaveUp returns the console line showing that the firmware gave up, or "".
func (v *vm) gaveUp() string {
	b, _ := os.ReadFile(v.console)
	for _, l := range gaveUpLines {
		if strings.Contains(string(b), l) {
			return l
		}
	}
	return ""
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// appendFile adds text to the end of the file at path.
func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
