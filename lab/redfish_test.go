package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/internal/redfishsim"
)

// redfishGuest is a BIOS guest with a disk behind a Redfish BMC: the
// emulator of internal/redfishsim, listening on 127.0.0.1 inside the lab
// namespace, whose power hook starts and stops the guest's QEMU through
// the same chassis control as the IPMI lab's.
var redfishGuest = guest{name: "bios-redfish", mac: "52:54:00:21:30:07", fw: biosIPXE}

const (
	// redfishCredentialsEnv holds the emulator's "user:password".
	redfishCredentialsEnv = "LAB_REDFISH_CREDENTIALS"
	redfishUser           = "labadmin"
	redfishPassword       = "lab-redfish-pw"
)

// TestLabReprovisionRedfish reprovisions a powered-off BIOS machine whose
// BMC is the Redfish emulator, trusted through the machine's bmc.ca_file,
// with `rackboot reprovision --wait`: the Reset action starts the real
// guest, which boots through rackboot and calls back.
func TestLabReprovisionRedfish(t *testing.T) {
	requireLab(t)
	bin := buildRackboot(t)
	tos := buildTinyOS(t)
	n := newNetns(t)
	n.addBridge(t)
	capture(t, n)
	n.addTap(t, "tap0")
	c := newChassis(t, redfishGuest, "tap0")
	sim := startRedfish(t, n, c)
	t.Setenv(redfishCredentialsEnv, redfishUser+":"+redfishPassword)
	s := startServerWith(t, n, bin, tos, "authoritative", nil, redfishMachine(t, sim))
	start := time.Now()

	out := s.cli(t, n, "reprovision", "--wait", "--poll", "1s", redfishGuest.name)
	t.Logf("rackboot reprovision after %s:\n%s", since(start), out)
	events := s.mustTimeline(t, redfishGuest.mac)
	for _, e := range events {
		t.Logf("reprovision: %-17s %-13s %s", e.Kind, ipString(e), e.Detail)
	}
	if diff := stagesDiff(events, reprovisionStages); diff != "" {
		t.Fatalf("timeline of %s after the reprovision: %s", redfishGuest.name, diff)
	}
	if !c.consoleHas(1, tinyosMsg) {
		t.Errorf("console of the first boot never showed %s", tinyosMsg)
	}
	if boots := sim.Boots(); len(boots) != 1 || !strings.HasPrefix(boots[0], "Pxe ") {
		t.Errorf("emulator boots = %q, want one network boot", boots)
	}
	if o := sim.Override(); o.Enabled != "Disabled" {
		t.Errorf("boot override after the boot = %+v, want the Once override used up", o)
	}
}

// startRedfish starts the emulator on 127.0.0.1 inside n: its socket is
// opened on a thread that joined the namespace. Its power hook runs c,
// inside n, so that the guest's QEMU finds its tap.
func startRedfish(t *testing.T, n *netns, c *chassis) *redfishsim.Server {
	t.Helper()
	return startRedfishAt(t, n, c, "")
}

// startRedfishAt starts the emulator on addr inside n ("" is 127.0.0.1),
// with its power hook driving c.
func startRedfishAt(t *testing.T, n *netns, c *chassis, addr string) *redfishsim.Server {
	t.Helper()
	cfg := redfishsim.Config{User: redfishUser, Password: redfishPassword, Addr: addr,
		OnPower: func(state string) error { return c.power(n, state == redfishsim.PowerOn) }}
	var sim *redfishsim.Server
	if err := n.inside(func() error { sim = redfishsim.New(cfg); return nil }); err != nil {
		t.Fatalf("starting the Redfish emulator in %s: %v", n.name, err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// power switches the chassis' guest on or off from inside n.
func (c *chassis) power(n *netns, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	script := filepath.Join(filepath.Dir(c.dir), "chassis.sh")
	if out, err := n.command(script, c.dir, "set", "power", v).CombinedOutput(); err != nil {
		return fmt.Errorf("chassis set power %s: %w: %s", v, err, out)
	}
	return nil
}

// redfishMachine writes sim's certificate as a CA file and returns the
// inventory entry of redfishGuest behind sim.
func redfishMachine(t *testing.T, sim *redfishsim.Server) string {
	t.Helper()
	ca := filepath.Join(t.ArtifactDir(), "redfish-ca.pem")
	if err := os.WriteFile(ca, sim.CertificatePEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`  - name: %s
    macs: [%q]
    profile: tiny
    arch: bios
    labels: {lab: %s}
    bmc:
      address: %s
      port: %d
      protocol: redfish
      credentials_env: %s
      ca_file: %s
      boot_mode: legacy
`, redfishGuest.name, redfishGuest.mac, redfishGuest.name, sim.Host(), sim.Port(),
		redfishCredentialsEnv, ca)
}
