package bmc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ipmiSim is Debian's ipmi_sim (package openipmi), a real IPMI v2.0 LAN
// BMC, on 127.0.0.1. Its chassis control runs chassisScript, which keeps
// the machine's power and boot device in files and logs every request.
type ipmiSim struct {
	dir  string // state files: power, boot, log; switches: ignore-soft, forget-boot
	port int
}

// chassisScript is the chassis_control program ipmi_sim runs as
// "script DIR get power boot" or "script DIR set power 1 boot pxe"
// (see OpenIPMI's ipmi_sim_chassiscontrol). A soft shutdown powers the
// machine off unless DIR/ignore-soft exists; DIR/forget-boot makes it
// drop boot device changes.
const chassisScript = `#!/bin/sh
dir=$1; op=$2; shift 2
echo "$op $*" >> "$dir/log"
case $op in
get)
	for p in "$@"; do echo "$p:$(cat "$dir/$p")"; done ;;
set)
	while [ $# -gt 1 ]; do
		case $1 in
		shutdown) [ -e "$dir/ignore-soft" ] || echo 0 > "$dir/power" ;;
		reset) ;;
		boot) [ -e "$dir/forget-boot" ] || echo "$2" > "$dir/boot" ;;
		*) echo "$2" > "$dir/$1" ;;
		esac
		shift 2
	done ;;
*) exit 1 ;;
esac
`

const ipmiSimEmu = `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
`

func startIPMISim(t *testing.T, user, pass string) *ipmiSim {
	t.Helper()
	for _, tool := range []string{"ipmi_sim", "ipmitool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian packages openipmi and ipmitool)", tool)
		}
	}
	top := t.TempDir()
	s := &ipmiSim{dir: filepath.Join(top, "machine"), port: freeUDPPort(t)}
	writeFiles(t, map[string]string{
		"machine/power": "0\n", "machine/boot": "default\n", "machine/log": "",
		"state/.keep": "", "chassis.sh": chassisScript, "sim.emu": ipmiSimEmu,
		"lan.conf": s.lanConf(top, user, pass),
	}, top)
	if err := os.Chmod(filepath.Join(top, "chassis.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command("ipmi_sim", "-n", "-c", filepath.Join(top, "lan.conf"),
		"-f", filepath.Join(top, "sim.emu"), "-s", filepath.Join(top, "state"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ipmi_sim: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	s.waitReady(t, user, pass, &out)
	return s
}

func (s *ipmiSim) lanConf(top, user, pass string) string {
	return fmt.Sprintf(`name "rackboot-test"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 %d
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "%s %s"
  user 2 true "%s" "%s" admin 10 md5
`, s.port, filepath.Join(top, "chassis.sh"), s.dir, user, pass)
}

// waitReady polls the simulator with ipmitool until it answers.
func (s *ipmiSim) waitReady(t *testing.T, user, pass string, out *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		cmd := exec.CommandContext(ctx, "ipmitool", "-I", "lanplus", "-H", "127.0.0.1",
			"-p", strconv.Itoa(s.port), "-U", user, "-E", "-C", "3", "-N", "1", "-R", "1",
			"chassis", "power", "status")
		cmd.Env = []string{"IPMITOOL_PASSWORD=" + pass}
		err := cmd.Run()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipmi_sim did not answer on 127.0.0.1:%d: %v\n%s", s.port, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *ipmiSim) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// sets lists the "set" requests the chassis received, in order.
func (s *ipmiSim) sets(t *testing.T) []string {
	var out []string
	for _, line := range strings.Split(s.read(t, "log"), "\n") {
		if strings.HasPrefix(line, "set ") {
			out = append(out, strings.TrimPrefix(line, "set "))
		}
	}
	return out
}

// waitPower waits, boundedly, for the chassis power file to read want.
func (s *ipmiSim) waitPower(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.read(t, "power") != want {
		if time.Now().After(deadline) {
			t.Fatalf("chassis power = %s, want %s", s.read(t, "power"), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *ipmiSim) touch(t *testing.T, name string) {
	t.Helper()
	writeFiles(t, map[string]string{name: ""}, s.dir)
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func writeFiles(t *testing.T, files map[string]string, dir string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
