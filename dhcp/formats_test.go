package dhcp

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// formatCase is one row of FORMATS.md's DHCP cases: a request, the reply
// in a golden file, and checks of what the case is about.
type formatCase struct {
	name   string // golden file testdata/dhcp/<name>.golden
	mode   Mode
	before []*dhcpv4.DHCPv4 // sent on port 67 first, replies unchecked
	req    *dhcpv4.DHCPv4
	src    netip.AddrPort // zero: 0.0.0.0:68
	port   int            // zero: 67
	silent bool           // no reply is right
	check  func(t *testing.T, e *env, r Reply)
}

var (
	ipxeScript   = httpURL + "/boot.ipxe"
	circuitID    = []byte{1, 6, 's', 'w', '1', '-', 'p', '7'} // RFC 3046 sub-option 1
	bootItemOpt  = []byte{71, 4, 0x80, 0x00, 0x00, 0x00, 255} // PXE_BOOT_ITEM type 0x8000 layer 0
	relayed      = []dhcpv4.Modifier{dhcpv4.WithGatewayIP(relayIP.AsSlice()), hops(1), broadcast, opt(optRelayAgent, circuitID)}
	pxeClientSrc = netip.MustParseAddrPort("192.0.2.77:68")
	ipxeSrc      = netip.MustParseAddrPort("192.0.2.78:49152")
)

func hops(n uint8) dhcpv4.Modifier { return func(m *dhcpv4.DHCPv4) { m.HopCount = n } }

func formatCases() []formatCase {
	return []formatCase{
		// 1. iPXE's user class.
		{name: "1-ipxe-raw-user-class", req: msg(discoverT, 1, ipxeEFI...),
			check: wantFile(ipxeScript)},
		{name: "1-ipxe-rfc3004-user-class", req: msg(discoverT, 2, with(pxeX64EFI, opt(optUserClass, []byte("\x04iPXE")))...),
			check: wantFile(ipxeScript)},
		{name: "1-ipxe-option-175", req: msg(discoverT, 3, with(pxeX64EFI, opt(optIPXEEncap, []byte{0x13, 1, 1}))...),
			check: wantFile(ipxeScript)},
		{name: "1-firmware-gets-binary", req: msg(discoverT, 4, pxeX64EFI...),
			check: wantFile("ipxe.efi")},
		{name: "1-truncated-rfc3004-is-firmware", req: msg(discoverT, 5, with(pxeX64EFI, opt(optUserClass, []byte("\x04iP")))...),
			check: wantFile("ipxe.efi")},

		// 2. Port 4011 classifies like port 67.
		{name: "2-bios-rom-4011", port: PortPXE, src: pxeClientSrc,
			req: msg(requestT, 6, with(pxeBIOS, ciaddr("192.0.2.77"), opt(optClientUUID, testUUID), opt(optVendorSpecific, bootItemOpt))...),
			check: all(wantFile("undionly.kpxe"), sameAsPort67(msg(discoverT, 6, pxeBIOS...)),
				wantOpt(optVendorClass, []byte("PXEClient")), wantOpt(optClientUUID, testUUID),
				wantOpt(optVendorSpecific, bootItemOpt))},
		{name: "2-ipxe-efi-4011", port: PortPXE, src: ipxeSrc,
			req:   msg(requestT, 7, with(ipxeEFI, ciaddr("192.0.2.78"))...),
			check: all(wantFile(ipxeScript), sameAsPort67(msg(discoverT, 7, ipxeEFI...)), noOpt(optVendorSpecific))},

		// 3. No option 97.
		{name: "3-no-uuid-port-67", req: msg(discoverT, 8, pxeX64EFI...), check: noOpt(optClientUUID)},
		{name: "3-no-uuid-port-4011", port: PortPXE, src: pxeClientSrc,
			req: msg(requestT, 8, with(pxeX64EFI, ciaddr("192.0.2.77"))...), check: noOpt(optClientUUID)},
		{name: "3-malformed-uuid", req: msg(discoverT, 9, with(pxeX64EFI, opt(optClientUUID, []byte{0, 1, 2, 3, 4}))...),
			check: all(noOpt(optClientUUID), wantLog("option 97 malformed"))},

		// 4. REQUEST without option 60 keeps the DISCOVER's class.
		{name: "4-request-without-vendor-class", mode: ModeAuthoritative,
			before: []*dhcpv4.DHCPv4{msg(discoverT, 10, pxeX64EFI...)},
			req:    msg(requestT, 10, want("192.0.2.100"), serverID("192.0.2.10")),
			check:  all(wantFile("ipxe.efi"), wantOpt(optVendorClass, []byte("PXEClient")))},
		{name: "4-override-beats-option-93", req: msg(discoverT, 0x44, pxeBIOS...),
			check: wantFile("ipxe.efi")},

		// 5. HTTP Boot vs PXE.
		{name: "5-http-boot-x64", req: msg(discoverT, 11, httpX64...),
			check: all(wantFile(httpURL+"/loaders/ipxe.efi"), wantOpt(optVendorClass, []byte("HTTPClient")),
				noOpt(optVendorSpecific))},
		{name: "5-uefi-pxe-never-url", req: msg(discoverT, 12, pxeX64EFI...),
			check: all(wantFile("ipxe.efi"), wantOpt(dhcpv4.OptionTFTPServerName.Code(), []byte("192.0.2.10")))},
		{name: "5-http-boot-arm64", req: msg(discoverT, 13, arch(19), vendor("HTTPClient:Arch:00019:UNDI:003000")),
			check: wantFile(httpURL + "/loaders/ipxe-arm64.efi")},
		{name: "5-unknown-arch", req: msg(discoverT, 14, arch(2), vendor("PXEClient:Arch:00002:UNDI:002001")),
			silent: true, check: wantLog("unknown architecture")},

		// 6. Relays.
		{name: "6-relay-proxy", src: netip.AddrPortFrom(relayIP, PortServer),
			req:   msg(discoverT, 15, with(pxeX64EFI, relayed...)...),
			check: all(wantDst(relayIP, PortServer), relayKept, wantFile("ipxe.efi"))},
		{name: "6-relay-authoritative", mode: ModeAuthoritative, src: netip.AddrPortFrom(relayIP, PortServer),
			req:   msg(discoverT, 16, with(pxeX64EFI, relayed...)...),
			check: all(wantDst(relayIP, PortServer), relayKept, wantYiaddrIn("198.51.100.0/24"))},
		{name: "6-relay-request-authoritative", mode: ModeAuthoritative, src: netip.AddrPortFrom(relayIP, PortServer),
			before: []*dhcpv4.DHCPv4{msg(discoverT, 17, with(pxeX64EFI, relayed...)...)},
			req:    msg(requestT, 17, with(relayed, want("198.51.100.100"), serverID("192.0.2.10"))...),
			check:  all(wantDst(relayIP, PortServer), relayKept, wantYiaddrIn("198.51.100.0/24"), wantFile("ipxe.efi"))},

		// 7. INFORM.
		{name: "7-inform", mode: ModeAuthoritative, src: netip.MustParseAddrPort("192.0.2.33:68"),
			req:   msg(informT, 18, ciaddr("192.0.2.33")),
			check: all(informAck("192.0.2.33"), wantOpt(1, []byte{255, 255, 255, 0}))},
		{name: "7-inform-foreign-subnet", mode: ModeAuthoritative, src: netip.MustParseAddrPort("203.0.113.5:68"),
			req:   msg(informT, 19, ciaddr("203.0.113.5")),
			check: all(informAck("203.0.113.5"), noOpt(1))},
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range formatCases() {
		t.Run(tc.name, func(t *testing.T) {
			mode := tc.mode
			if mode == "" {
				mode = ModeProxy
			}
			e := newEnv(t, testConfig(mode))
			for _, m := range tc.before {
				e.send(m, tc.srcOr(), PortServer)
			}
			r, ok := e.send(tc.req, tc.srcOr(), tc.portOr())
			switch {
			case tc.silent && ok:
				t.Fatalf("Handle = %s, want no reply", r.Packet.MessageType())
			case !tc.silent && !ok:
				t.Fatalf("Handle = no reply, want one\nlogs:\n%s", e.logs)
			case ok:
				golden(t, tc.name, render(r))
			}
			if tc.check != nil {
				tc.check(t, e, r)
			}
		})
	}
}

func (tc formatCase) srcOr() netip.AddrPort {
	if tc.src.IsValid() {
		return tc.src
	}
	return clientSrc
}

func (tc formatCase) portOr() int {
	if tc.port != 0 {
		return tc.port
	}
	return PortServer
}

type check = func(t *testing.T, e *env, r Reply)

func all(cs ...check) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		for _, c := range cs {
			c(t, e, r)
		}
	}
}

// wantFile checks the boot file in both the file field and option 67, that
// siaddr names the server (iPXE ignores a ProxyDHCP reply without it, URL or
// not), and that only TFTP names come with option 66.
func wantFile(file string) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		m := r.Packet
		if m.BootFileName != file || m.BootFileNameOption() != file {
			t.Errorf("boot file = %q, option 67 = %q, want %q in both", m.BootFileName, m.BootFileNameOption(), file)
		}
		if m.ServerIPAddr.IsUnspecified() {
			t.Errorf("siaddr = %v for file %q, want the server", m.ServerIPAddr, file)
		}
		url := strings.Contains(file, "://")
		if _, opt66 := m.Options[66]; opt66 == url {
			t.Errorf("option 66 present = %v for file %q, want it only for TFTP names", opt66, file)
		}
	}
}

func wantOpt(code uint8, v []byte) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		if got, ok := r.Packet.Options[code]; !ok || !bytes.Equal(got, v) {
			t.Errorf("option %d = % x (present %v), want % x", code, got, ok, v)
		}
	}
}

func noOpt(code uint8) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		if got, ok := r.Packet.Options[code]; ok {
			t.Errorf("option %d = % x, want none", code, got)
		}
	}
}

func wantLog(s string) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		if !strings.Contains(e.logs.String(), s) {
			t.Errorf("logs lack %q:\n%s", s, e.logs)
		}
	}
}

func wantDst(ip netip.Addr, port uint16) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		if want := netip.AddrPortFrom(ip, port); r.Dst != want {
			t.Errorf("reply goes to %v, want %v", r.Dst, want)
		}
	}
}

func relayKept(t *testing.T, e *env, r Reply) {
	t.Helper()
	if !r.Packet.GatewayIPAddr.Equal(relayIP.AsSlice()) {
		t.Errorf("giaddr = %v, want %v", r.Packet.GatewayIPAddr, relayIP)
	}
	wantOpt(optRelayAgent, circuitID)(t, e, r)
}

func wantYiaddrIn(prefix string) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		if got := fromIP(r.Packet.YourIPAddr); !netip.MustParsePrefix(prefix).Contains(got) {
			t.Errorf("yiaddr = %v, want one in %s", got, prefix)
		}
	}
}

// sameAsPort67 checks that the port 67 answer to d carries the same file.
func sameAsPort67(d *dhcpv4.DHCPv4) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		r67, ok := e.send(d, clientSrc, PortServer)
		if !ok {
			t.Fatal("port 67 gave no reply")
		}
		if r67.Packet.BootFileName != r.Packet.BootFileName {
			t.Errorf("port 4011 file = %q, port 67 file = %q, want equal", r.Packet.BootFileName, r67.Packet.BootFileName)
		}
	}
}

// informAck checks RFC 2131 section 4.3.5: ACK to ciaddr, no address, no
// lease times, and no lease stored.
func informAck(client string) check {
	return func(t *testing.T, e *env, r Reply) {
		t.Helper()
		m := r.Packet
		if m.MessageType() != dhcpv4.MessageTypeAck || !m.YourIPAddr.Equal(net.IPv4zero) {
			t.Errorf("reply = %s yiaddr %v, want ACK with yiaddr 0.0.0.0", m.MessageType(), m.YourIPAddr)
		}
		for _, code := range []dhcpv4.OptionCode{dhcpv4.OptionIPAddressLeaseTime, dhcpv4.OptionRenewTimeValue, dhcpv4.OptionRebindingTimeValue} {
			noOpt(code.Code())(t, e, r)
		}
		wantDst(netip.MustParseAddr(client), PortClient)(t, e, r)
		if ls := e.leases(); len(ls) != 0 {
			t.Errorf("leases after INFORM = %v, want none", ls)
		}
	}
}
