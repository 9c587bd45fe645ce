package dhcp

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// A second server on one interface is refused while the first holds it,
// and may start once the first is gone.
func TestClaimInterface(t *testing.T) {
	iface := fmt.Sprintf("rb-claim-%d", os.Getpid())
	first, err := claimInterface(iface)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claimInterface(iface); err == nil || !strings.Contains(err.Error(), "another rackboot already serves DHCP on "+iface) {
		t.Errorf("second claim = %v, want refused naming the interface", err)
	}
	other, err := claimInterface(iface + "b")
	if err != nil {
		t.Errorf("claim of another interface = %v", err)
	} else {
		other.Close()
	}
	first.Close()
	again, err := claimInterface(iface)
	if err != nil {
		t.Fatalf("claim after the first closed = %v", err)
	}
	again.Close()
}
