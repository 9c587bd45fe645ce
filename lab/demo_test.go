package lab

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// TestDemo is scripts/demo.sh's body: it boots one UEFI guest through an
// authoritative rackboot and prints what rackboot recorded. It runs only
// with RACKBOOT_DEMO=1.
func TestDemo(t *testing.T) {
	if os.Getenv("RACKBOOT_DEMO") != "1" {
		t.Skip("the demo runs from scripts/demo.sh (RACKBOOT_DEMO=1)")
	}
	requireLab(t)
	bin := buildRackboot(t)
	tos := buildTinyOS(t)
	n := newNetns(t)
	n.addBridge(t)
	s := startServer(t, n, bin, tos, "authoritative", nil)
	t.Logf("rackboot serves at %s in network namespace %s; booting %s (%s)",
		s.url, n.name, uefiPXEGuest.name, uefiPXEGuest.mac)

	events := checkBoot(t, n, s, uefiPXEGuest, "tap0")

	out, err := n.command(bin, "machines", "--server", s.admin, "--data-dir", s.dataDir).CombinedOutput()
	fmt.Printf("\n$ rackboot machines --server %s --data-dir %s\n%s\n", s.admin, s.dataDir, out)
	if err != nil {
		t.Errorf("rackboot machines: %v", err)
	}
	js, err := json.MarshalIndent(events, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("GET %s/api/v1/machines/%s/timeline\n%s\n\n", s.admin, uefiPXEGuest.mac, js)
}
