package dhcp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestRejectedMACIgnored(t *testing.T) {
	for _, mode := range []Mode{ModeProxy, ModeAuthoritative} {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t, testConfig(mode))
			if err := e.inv.Reject(mac(1).String()); err != nil {
				t.Fatal(err)
			}
			e.silent(msg(discoverT, 1, pxeX64EFI...))
			if _, ok := e.send(msg(requestT, 1, ipxeEFI...), clientSrc, PortPXE); ok {
				t.Error("port 4011 answered a rejected MAC")
			}
			if st := e.srv.Stats(); st.Ignored != 2 || st.Offers+st.Acks != 0 {
				t.Errorf("Stats() = %+v, want 2 ignored and no replies", st)
			}
			if tl := e.timeline(1); len(tl) != 0 {
				t.Errorf("a rejected MAC's packets recorded %v", tl)
			}
			if !strings.Contains(e.logs.String(), `level=DEBUG msg="rejected mac ignored" iface=rb-test0 mac=02:00:00:00:00:01`) {
				t.Errorf("no Debug line for the rejected MAC:\n%s", e.logs)
			}
			if err := e.inv.Unreject(mac(1).String()); err != nil {
				t.Fatal(err)
			}
			e.must(msg(discoverT, 1, pxeX64EFI...), offerT)
		})
	}
}

func TestOfferRecordsClientDetails(t *testing.T) {
	relayed := []dhcpv4.Modifier{dhcpv4.WithGatewayIP(relayIP.AsSlice()), hops(1), broadcast}
	agent := func(sub ...[]byte) dhcpv4.Modifier {
		var b []byte
		for _, s := range sub {
			b = append(b, s...)
		}
		return opt(optRelayAgent, b)
	}
	long := strings.Repeat("x", 60)
	tests := []struct {
		name string
		mods []dhcpv4.Modifier
		src  netip.AddrPort
		want string
	}{
		{"pxe", pxeX64EFI, clientSrc,
			"arch=x64-efi file=ipxe.efi client_arch=x64-efi vendor=PXEClient:Arch:00007:UNDI:003000"},
		{"relayed", with(pxeX64EFI, with(relayed, agent(circuitID, []byte{2, 2, 0xbe, 0xef}))...),
			netip.AddrPortFrom(relayIP, PortServer),
			"arch=x64-efi file=ipxe.efi client_arch=x64-efi vendor=PXEClient:Arch:00007:UNDI:003000 " +
				"relay=198.51.100.1 circuit_id=sw1-p7 remote_id=0xbeef"},
		{"relay without option 82", with(pxeX64EFI, relayed...), netip.AddrPortFrom(relayIP, PortServer),
			"arch=x64-efi file=ipxe.efi client_arch=x64-efi vendor=PXEClient:Arch:00007:UNDI:003000 relay=198.51.100.1"},
		{"odd vendor", []dhcpv4.Modifier{arch(7), vendor("PXEClient:Arch:00007 x=\"y\"")}, clientSrc,
			"arch=x64-efi file=ipxe.efi client_arch=x64-efi vendor=0x505845436c69656e743a417263683a303030303720783d227922"},
		{"long vendor", []dhcpv4.Modifier{arch(7), vendor("PXEClient" + long)}, clientSrc,
			"arch=x64-efi file=ipxe.efi client_arch=x64-efi vendor=PXEClient" + long[:39]},
		{"unknown arch", []dhcpv4.Modifier{arch(42), opt(optUserClass, []byte("iPXE"))}, clientSrc,
			"arch=any file=http://192.0.2.10:8080/boot.ipxe client_arch=type-42"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testConfig(ModeProxy))
			n := byte(i + 1)
			if _, ok := e.send(msg(discoverT, n, tt.mods...), tt.src, PortServer); !ok {
				t.Fatalf("no offer\nlogs:\n%s", e.logs)
			}
			evs, err := e.store.Timeline(mac(n).String())
			if err != nil || len(evs) != 1 {
				t.Fatalf("Timeline = %v, %v, want one offer", evs, err)
			}
			if got := evs[0].Detail; got != tt.want {
				t.Errorf("offer detail = %q, want %q", got, tt.want)
			}
		})
	}
}

// A declared machine's booted OS asks without PXE options: its offer's
// detail is only what it showed, with no stray separator.
func TestOfferDetailOfAPlainClient(t *testing.T) {
	e := newEnv(t, testConfig(ModeAuthoritative))
	if _, ok := e.send(msg(discoverT, 0x50, vendor("udhcp1.35")), clientSrc, PortServer); !ok {
		t.Fatalf("no offer\nlogs:\n%s", e.logs)
	}
	evs, err := e.store.Timeline(mac(0x50).String())
	if err != nil || len(evs) != 1 {
		t.Fatalf("Timeline = %v, %v, want one offer", evs, err)
	}
	if got, want := evs[0].Detail, "vendor=udhcp1.35"; got != want {
		t.Errorf("offer detail = %q, want %q", got, want)
	}
}
