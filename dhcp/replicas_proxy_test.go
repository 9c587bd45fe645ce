package dhcp

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestProxyRepliesAgreeAcrossReplicas answers the same PXE, iPXE and HTTP
// boot clients from two proxy servers that differ only in their own
// address, as two replicas on one segment do: the boot parameters each
// client gets are identical, and each server names itself as the
// server identifier.
func TestProxyRepliesAgreeAcrossReplicas(t *testing.T) {
	second := netip.MustParseAddr("192.0.2.2")
	cfgA := testConfig(ModeProxy)
	cfgB := testConfig(ModeProxy)
	cfgB.ServerIP = second
	a, b := newEnv(t, cfgA), newEnv(t, cfgB)
	for _, tc := range []struct {
		name string
		mods []dhcpv4.Modifier
	}{
		{"bios-pxe", pxeBIOS},
		{"uefi-pxe", pxeX64EFI},
		{"ipxe", ipxeEFI},
		{"uefi-http", httpX64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra, okA := a.send(msg(dhcpv4.MessageTypeDiscover, 0x44, tc.mods...), clientSrc, PortServer)
			rb, okB := b.send(msg(dhcpv4.MessageTypeDiscover, 0x44, tc.mods...), clientSrc, PortServer)
			if !okA || !okB {
				t.Fatalf("replies: first %v, second %v; want both to answer", okA, okB)
			}
			if got := ra.Packet.ServerIdentifier(); !got.Equal(toIP(serverIP)) {
				t.Errorf("first server's identifier = %v, want %v", got, serverIP)
			}
			if got := rb.Packet.ServerIdentifier(); !got.Equal(toIP(second)) {
				t.Errorf("second server's identifier = %v, want %v", got, second)
			}
			if diff := cmp.Diff(bootParams(ra.Packet), bootParams(rb.Packet)); diff != "" {
				t.Errorf("boot parameters differ between replicas (-first +second):\n%s", diff)
			}
		})
	}
}

// bootParams is what a reply tells a client to boot, without the fields
// that name the answering server: the server identifier and the TFTP
// server (option 66, and siaddr, left out too), since each replica
// serves the boot loaders itself.
func bootParams(m *dhcpv4.DHCPv4) map[string]string {
	out := map[string]string{"file": m.BootFileName, "type": m.MessageType().String()}
	for code, v := range m.Options {
		if code != dhcpv4.OptionServerIdentifier.Code() && code != dhcpv4.OptionTFTPServerName.Code() {
			out[dhcpv4.GenericOptionCode(code).String()] = string(v)
		}
	}
	return out
}
