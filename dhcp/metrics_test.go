package dhcp

import (
	"net"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// exchange runs one of each thing a server counts: answers, a NAK, a
// release, a request for another server, a malformed packet and a relay no
// pool serves, in authoritative mode; a boot client of unknown
// architecture and a rejected MAC's DISCOVER in proxy mode.
func exchange(t *testing.T, m *Metrics) (auth, proxy *env) {
	cfg := testConfig(ModeAuthoritative)
	cfg.Metrics = m
	auth = newEnv(t, cfg)
	ip := auth.dora(1, pxeBIOS...)
	auth.dora(2, ipxeEFI...)
	auth.must(msg(discoverT, 3), offerT) // a laptop
	auth.must(msg(requestT, 4, want("192.0.2.50"), serverID("192.0.2.10")), nakT)
	auth.silent(msg(releaseT, 1, ciaddr(ip), serverID("192.0.2.10")))
	auth.silent(msg(requestT, 5, want("192.0.2.77"), serverID("192.0.2.1")))
	auth.silent(msg(discoverT, 6, dhcpv4.WithGatewayIP(net.IPv4(203, 0, 113, 1))))
	if _, ok := auth.srv.Handle([]byte("not dhcp"), clientSrc, PortServer); ok {
		t.Fatal("Handle(garbage) answered")
	}

	cfg = testConfig(ModeProxy)
	cfg.Metrics = m
	proxy = newEnv(t, cfg)
	proxy.silent(msg(discoverT, 7, arch(99), vendor("PXEClient:Arch:00099:UNDI:003000")))
	if err := proxy.inv.Reject(mac(8).String()); err != nil {
		t.Fatal(err)
	}
	proxy.silent(msg(discoverT, 8, pxeX64EFI...))
	return auth, proxy
}

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	exchange(t, NewMetrics(reg))

	want := `
# HELP rackboot_dhcp_offers_total DHCPOFFERs sent, by the kind of client they went to.
# TYPE rackboot_dhcp_offers_total counter
rackboot_dhcp_offers_total{client_class="bios-pxe"} 1
rackboot_dhcp_offers_total{client_class="ipxe"} 1
rackboot_dhcp_offers_total{client_class="none"} 1
rackboot_dhcp_offers_total{client_class="uefi-http"} 0
rackboot_dhcp_offers_total{client_class="uefi-pxe"} 0
rackboot_dhcp_offers_total{client_class="unknown-pxe"} 0
# HELP rackboot_dhcp_packets_total DHCP packets received, by message type and what became of them.
# TYPE rackboot_dhcp_packets_total counter
rackboot_dhcp_packets_total{outcome="accepted",type="release"} 1
rackboot_dhcp_packets_total{outcome="answered",type="discover"} 3
rackboot_dhcp_packets_total{outcome="answered",type="request"} 2
rackboot_dhcp_packets_total{outcome="ignored",type="discover"} 1
rackboot_dhcp_packets_total{outcome="ignored",type="request"} 1
rackboot_dhcp_packets_total{outcome="malformed",type="malformed"} 1
rackboot_dhcp_packets_total{outcome="no_address",type="discover"} 1
rackboot_dhcp_packets_total{outcome="no_boot",type="discover"} 1
rackboot_dhcp_packets_total{outcome="refused",type="request"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint() = %v, %v; want no problems", problems, err)
	}
}

// TestMetricsNil runs the same exchange without metrics: nothing panics
// and the server's own counters still count.
func TestMetricsNil(t *testing.T) {
	auth, _ := exchange(t, nil)
	if got := auth.srv.Stats().Offers; got != 3 {
		t.Errorf("Stats().Offers = %d, want 3", got)
	}
	var m *Metrics
	m.packet("discover", outcomeAnswered)
	m.offer(Class{IPXE: true})
}

func TestClassLabel(t *testing.T) {
	tests := []struct {
		name string
		c    Class
		want string
	}{
		{"ipxe on uefi", Class{PXE: true, IPXE: true, Arch: "x64-efi"}, "ipxe"},
		{"http boot", Class{HTTP: true, Arch: "x64-http"}, "uefi-http"},
		{"bios pxe", Class{PXE: true, Arch: "bios"}, "bios-pxe"},
		{"uefi pxe", Class{PXE: true, Arch: "arm64-efi"}, "uefi-pxe"},
		{"pxe of unknown arch", Class{PXE: true}, "unknown-pxe"},
		{"laptop", Class{}, "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.label(); got != tc.want {
				t.Errorf("%+v.label() = %q, want %q", tc.c, got, tc.want)
			}
		})
	}
}
