package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// bmcGuest is a BIOS guest with a disk behind an IPMI BMC: Debian's
// ipmi_sim, inside the lab namespace on 127.0.0.1:623, whose chassis
// control starts and stops the guest's QEMU. Its NIC boots first, as a
// rack's machines are set up to; its disk holds a boot sector that prints
// diskMarker, so a boot from the disk shows on the console.
var bmcGuest = guest{name: "bios-bmc", mac: "52:54:00:21:30:06", fw: biosIPXE}

// The first boot of a reprovision, as its timeline must show it.
var reprovisionStages = []inventory.EventKind{
	inventory.EventProvisionStarted, inventory.EventBMCBootDevice, inventory.EventBMCPower,
	inventory.EventDHCPOffer, inventory.EventDHCPAck, inventory.EventScriptServed,
	inventory.EventKernelFetched, inventory.EventInitrdFetched, inventory.EventOSCallback,
	inventory.EventProvisionDone,
}

const (
	// bmcCredentialsEnv holds the BMC's "user:password" for rackboot;
	// testdata/lab/inventory.yaml names it.
	bmcCredentialsEnv = "LAB_BMC_CREDENTIALS"
	bmcUser           = "labadmin"
	bmcPassword       = "lab-bmc-pw"
	// diskMarker starts the line the disk's boot sector prints through
	// the BIOS (SeaBIOS copies it to the serial console).
	diskMarker = "RACKBOOT-LOCAL-DISK"
)

// TestLabReprovision reprovisions a powered-off BIOS machine through its
// IPMI BMC with `rackboot reprovision --wait`: rackboot sets the next boot
// to the network, powers the machine on, follows its boot to the OS
// callback and records provision-done. Then the machine, installed, is
// powered on again: it gets the local-boot script and boots its disk,
// never the installer.
func TestLabReprovision(t *testing.T) {
	requireLab(t)
	for _, bin := range []string{"ipmi_sim", "ipmitool", "setsid"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("the reprovision lab needs %s (Debian packages openipmi, ipmitool): %v", bin, err)
		}
	}
	bin := buildRackboot(t)
	tos := buildTinyOS(t)
	n := newNetns(t)
	n.addBridge(t)
	capture(t, n)
	n.addTap(t, "tap0")
	chassis := startBMC(t, n, bmcGuest, "tap0")
	t.Setenv(bmcCredentialsEnv, bmcUser+":"+bmcPassword)
	t.Setenv("RACKBOOT_PROVISION_POLL_INTERVAL", "500ms")
	s := startServer(t, n, bin, tos, "authoritative", nil)
	start := time.Now()

	if out := s.cli(t, n, "power", bmcGuest.name, "status"); !strings.Contains(out, "power off") {
		t.Fatalf("rackboot power status before the reprovision = %q, want power off", out)
	}
	out := s.cli(t, n, "reprovision", "--wait", "--poll", "1s", bmcGuest.name)
	t.Logf("rackboot reprovision after %s:\n%s", since(start), out)
	events := s.mustTimeline(t, bmcGuest.mac)
	if diff := stagesDiff(events, reprovisionStages); diff != "" {
		t.Fatalf("timeline of %s after the reprovision: %s", bmcGuest.name, diff)
	}
	for _, e := range events {
		t.Logf("reprovision: %-17s %-13s %s", e.Kind, ipString(e), e.Detail)
	}
	if !chassis.consoleHas(1, tinyosMsg) {
		t.Errorf("console of the first boot never showed %s", tinyosMsg)
	}
	if sets := chassis.sets(t); len(sets) < 2 || sets[0] != "boot pxe" || sets[1] != "power 1" {
		t.Errorf("chassis requests = %q, want boot pxe, then power 1", sets)
	}

	// The tiny OS powers the guest off once it called back.
	chassis.waitOff(t, s, n)
	done := len(events)
	s.cli(t, n, "power", bmcGuest.name, "on")
	waitLocalBoot(t, s, chassis, done)
	s.cli(t, n, "power", bmcGuest.name, "off")
	if out := s.cli(t, n, "power", bmcGuest.name, "status"); !strings.Contains(out, "power off") {
		t.Errorf("rackboot power status after off = %q, want power off", out)
	}
	t.Logf("reprovision, reboot to disk and power off took %s", since(start))
}

// waitLocalBoot waits for the second boot, whose events start after the
// first done of the timeline, to get the local-boot script and boot the
// disk, and checks that it never fetched the installer's kernel.
func waitLocalBoot(t *testing.T, s *server, c *chassis, done int) {
	t.Helper()
	deadline := time.Now().Add(guestTimeout)
	for !c.consoleHas(2, diskMarker) {
		if time.Now().After(deadline) {
			t.Fatalf("the second boot never reached the disk within %s", guestTimeout)
		}
		time.Sleep(2 * time.Second)
	}
	events := s.mustTimeline(t, bmcGuest.mac)[done:]
	var local *inventory.Event
	for i, e := range events {
		switch {
		case e.Kind == inventory.EventKernelFetched:
			t.Errorf("the installed machine fetched the installer's kernel: %+v", e)
		case e.Kind == inventory.EventScriptServed && local == nil:
			local = &events[i]
		}
	}
	if local == nil || !strings.HasPrefix(local.Detail, "local boot by sanboot") {
		t.Errorf("script served on the second boot = %+v, want a local boot by sanboot", local)
	}
	for _, e := range events {
		t.Logf("second boot: %-15s %-13s %s", e.Kind, ipString(e), e.Detail)
	}
}

// cli runs `rackboot ARGS... --server URL --data-dir DIR` inside the namespace, failing
// the test on error, and returns its output.
func (s *server) cli(t *testing.T, n *netns, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), guestTimeout)
	defer cancel()
	full := append([]string{"netns", "exec", n.name, s.bin, args[0], "--server", s.admin,
		"--data-dir", s.dataDir}, args[1:]...)
	out, err := exec.CommandContext(ctx, "ip", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("rackboot %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *server) mustTimeline(t *testing.T, mac string) []inventory.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	events, err := s.timeline(ctx, mac)
	if err != nil {
		t.Fatalf("timeline of %s: %v", mac, err)
	}
	return events
}

// chassis is the state folder of the lab BMC's chassis control.
type chassis struct {
	dir string
}

// startBMC runs ipmi_sim in n on 127.0.0.1:623 (the namespace's own
// loopback) with a chassis control that runs g's QEMU on tap: power on
// starts it, power off and soft off kill it, power reads whether it runs.
// The guest's firmware boots the NIC first and the disk second.
func startBMC(t *testing.T, n *netns, g guest, tap string) *chassis {
	t.Helper()
	c := newChassis(t, g, tap)
	top := filepath.Dir(c.dir)
	startProc(t, "ipmi_sim", top, n.command("ipmi_sim", "-n", "-c", filepath.Join(top, "lan.conf"),
		"-f", filepath.Join(top, "sim.emu"), "-s", filepath.Join(top, "state")))
	waitIPMI(t, n)
	return c
}

// newChassis writes a chassis control for g's QEMU on tap, with a disk
// the firmware boots after the NIC, and the ipmi_sim files that use it.
func newChassis(t *testing.T, g guest, tap string) *chassis {
	t.Helper()
	top := t.ArtifactDir()
	c := &chassis{dir: filepath.Join(top, "chassis")}
	disk := filepath.Join(top, "disk.img")
	writeDisk(t, disk)
	args := qemuArgs(g, tap, "CONSOLE", "")
	args = append(args, "-drive", "file="+disk+",format=raw,if=none,id=d0",
		"-device", "virtio-blk-pci,drive=d0,bootindex=2")
	files := map[string]string{
		"chassis/boot": "default\n", "chassis/boots": "0\n", "chassis/log": "",
		"chassis/qemu.sh": qemuScript(args), "chassis.sh": chassisScript,
		"sim.emu": ipmiEmu, "lan.conf": lanConf(top, c.dir), "state/.keep": "",
	}
	for name, text := range files {
		path := filepath.Join(top, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The guest is not ipmi_sim's child for long: kill what the chassis
	// left running (the namespace's cleanup would too).
	t.Cleanup(func() { c.run(t, "set", "power", "0") })
	return c
}

// waitIPMI waits until ipmitool gets an answer from the lab BMC.
func waitIPMI(t *testing.T, n *netns) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		cmd := n.command("ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-U", bmcUser, "-E",
			"-C", "3", "-N", "1", "-R", "1", "chassis", "power", "status")
		cmd.Env = append(os.Environ(), "IPMITOOL_PASSWORD="+bmcPassword)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipmi_sim did not answer on 127.0.0.1:623 in %s: %v\n%s", n.name, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// run calls the chassis control as ipmi_sim does.
func (c *chassis) run(t *testing.T, args ...string) {
	cmd := exec.Command(filepath.Join(filepath.Dir(c.dir), "chassis.sh"), append([]string{c.dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("chassis %v: %v\n%s", args, err, out)
	}
}

// sets lists the "set" requests the chassis received, in order.
func (c *chassis) sets(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(c.dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "set "); ok {
			out = append(out, rest)
		}
	}
	return out
}

// consoleHas reports whether the console of the guest's boot number boot
// (counting from 1) shows s.
func (c *chassis) consoleHas(boot int, s string) bool {
	return logContains(filepath.Join(c.dir, fmt.Sprintf("console-%d.log", boot)), s)
}

// waitOff waits until the BMC reports the guest off.
func (c *chassis) waitOff(t *testing.T, s *server, n *netns) {
	t.Helper()
	deadline := time.Now().Add(guestTimeout)
	for !strings.Contains(s.cli(t, n, "power", bmcGuest.name, "status"), "power off") {
		if time.Now().After(deadline) {
			t.Fatalf("the guest did not power off within %s", guestTimeout)
		}
		time.Sleep(2 * time.Second)
	}
}

// qemuScript is the chassis' qemu.sh: it runs QEMU with args, the console
// file ($1) in place of CONSOLE.
func qemuScript(args []string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexec " + qemuBin)
	for _, a := range args {
		if a == "file:CONSOLE" {
			b.WriteString(` "file:$1"`)
			continue
		}
		b.WriteString(" '" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	b.WriteString("\n")
	return b.String()
}

// chassisScript is the chassis_control program ipmi_sim runs as
// "chassis.sh DIR get power" or "chassis.sh DIR set power 1 boot pxe"
// (OpenIPMI's ipmi_sim_chassiscontrol convention). The machine is the
// QEMU process DIR/pid names: on while it runs. Each start gets a new
// console, DIR/console-N.log.
const chassisScript = `#!/bin/sh
dir=$1; op=$2; shift 2
echo "$op $*" >> "$dir/log"
running() { [ -s "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }
start() {
	running && return 0
	n=$(($(cat "$dir/boots") + 1))
	echo $n > "$dir/boots"
	setsid "$dir/qemu.sh" "$dir/console-$n.log" </dev/null >>"$dir/qemu.log" 2>&1 &
	echo $! > "$dir/pid"
}
stop() {
	running || return 0
	pid=$(cat "$dir/pid")
	kill "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
case $op in
get)
	for p in "$@"; do
		case $p in
		power) if running; then echo power:1; else echo power:0; fi ;;
		*) echo "$p:$(cat "$dir/$p" 2>/dev/null)" ;;
		esac
	done ;;
set)
	while [ $# -gt 1 ]; do
		case $1 in
		power) if [ "$2" = 1 ]; then start; else stop; fi ;;
		shutdown) stop ;;
		reset) stop; start ;;
		boot) echo "$2" > "$dir/boot" ;;
		esac
		shift 2
	done ;;
*) exit 1 ;;
esac
`

const ipmiEmu = `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
`

func lanConf(top, dir string) string {
	return fmt.Sprintf(`name "rackboot-lab"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 623
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "%s %s"
  user 2 true "%s" "%s" admin 10 md5
`, filepath.Join(top, "chassis.sh"), dir, bmcUser, bmcPassword)
}

// writeDisk writes a 1 MiB disk whose boot sector prints diskMarker with
// BIOS teletype output (int 10h, AH=0Eh) and halts.
func writeDisk(t *testing.T, path string) {
	t.Helper()
	code := []byte{
		0x31, 0xc0, // xor ax, ax
		0x8e, 0xd8, // mov ds, ax
		0xbe, 0x19, 0x7c, // mov si, 0x7c19 (the message)
		0xac,       // next: lodsb
		0x84, 0xc0, // test al, al
		0x74, 0x09, // jz halt
		0xb4, 0x0e, // mov ah, 0x0e
		0xbb, 0x07, 0x00, // mov bx, 7
		0xcd, 0x10, // int 0x10
		0xeb, 0xf2, // jmp next
		0xfa,       // halt: cli
		0xf4,       // hlt
		0xeb, 0xfd, // jmp hlt
	}
	sector := append(code, diskMarker+"-OK\r\n\x00"...)
	disk := make([]byte, 1<<20)
	copy(disk, sector)
	disk[510], disk[511] = 0x55, 0xaa
	if err := os.WriteFile(path, disk, 0o644); err != nil {
		t.Fatal(err)
	}
}
