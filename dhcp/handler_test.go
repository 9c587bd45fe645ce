package dhcp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // error prefix; "" means valid
	}{
		{"valid proxy", func(c *Config) { c.Mode, c.Pools = "", nil }, ""},
		{"valid authoritative", func(c *Config) {}, ""},
		{"no interface", func(c *Config) { c.Interface = "" }, "interface:"},
		{"interface name too long", func(c *Config) { c.Interface = "a-very-long-interface" }, "interface:"},
		{"bad mode", func(c *Config) { c.Mode = "relay" }, "mode:"},
		{"no server ip", func(c *Config) { c.ServerIP = netip.Addr{} }, "server-ip:"},
		{"ipv6 server ip", func(c *Config) { c.ServerIP = netip.MustParseAddr("2001:db8::1") }, "server-ip:"},
		{"no http url", func(c *Config) { c.HTTPURL = "" }, "http-url:"},
		{"relative http url", func(c *Config) { c.HTTPURL = "/boot" }, "http-url:"},
		{"http url with query", func(c *Config) { c.HTTPURL = "http://192.0.2.10/?a=b" }, "http-url:"},
		{"unknown loader arch", func(c *Config) { c.Loaders = map[inventory.Arch]string{"sparc": "x"} }, "loaders:"},
		{"loader escaping root", func(c *Config) { c.Loaders = map[inventory.Arch]string{inventory.ArchBIOS: "../x"} }, "loader-bios:"},
		{"loader with space", func(c *Config) { c.Loaders = map[inventory.Arch]string{inventory.ArchBIOS: "a b"} }, "loader-bios:"},
		{"loader too long", func(c *Config) {
			c.Loaders = map[inventory.Arch]string{inventory.ArchX64EFI: strings.Repeat("x", 128)}
		}, "loader-x64-efi:"},
		{"authoritative without pools", func(c *Config) { c.Pools = nil }, "pools:"},
		{"unmasked subnet", func(c *Config) { c.Pools[0].Subnet = netip.MustParsePrefix("192.0.2.1/24") }, "pools[0].subnet:"},
		{"start outside subnet", func(c *Config) { c.Pools[1].Start = netip.MustParseAddr("192.0.2.5") }, "pools[1].start:"},
		{"end is broadcast", func(c *Config) { c.Pools[0].End = netip.MustParseAddr("192.0.2.255") }, "pools[0].end:"},
		{"end before start", func(c *Config) { c.Pools[0].End = netip.MustParseAddr("192.0.2.99") }, "pools[0].end:"},
		{"router outside", func(c *Config) { c.Pools[0].Router = relayIP }, "pools[0].router:"},
		{"ipv6 dns", func(c *Config) { c.Pools[0].DNS = []netip.Addr{netip.MustParseAddr("::1")} }, "pools[0].dns:"},
		{"overlapping pools", func(c *Config) { c.Pools[1] = c.Pools[0] }, "pools[1].subnet:"},
		{"short lease", func(c *Config) { c.LeaseTime = time.Second }, "lease-time:"},
		{"negative workers", func(c *Config) { c.Workers = -1 }, "workers:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(ModeAuthoritative)
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error starting %q", err, tc.want)
			}
		})
	}
}

// TestMalformed feeds packets that must be counted and dropped without any
// change of state.
func TestMalformed(t *testing.T) {
	good := msg(discoverT, 1, pxeX64EFI...).ToBytes()
	withOpt := func(code byte, v ...byte) []byte {
		b := append([]byte(nil), good[:240]...)
		b = append(b, 53, 1, 3, code, byte(len(v)))
		return append(append(b, v...), 255)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"header cut", good[:100]},
		{"no magic cookie", good[:236]},
		{"bad magic cookie", append(append(append([]byte(nil), good[:236]...), 1, 2, 3, 4), good[240:]...)},
		{"option overruns the packet", append(append([]byte(nil), good[:240]...), 53, 1, 1, 60, 200, 'P')},
		{"no end option", append(append([]byte(nil), good[:240]...), 53, 1, 1)},
		{"message type of two bytes", withOpt(53, 1, 1)},
		{"message type zero", append(append([]byte(nil), good[:240]...), 53, 1, 0, 255)},
		{"requested address of three bytes", withOpt(50, 192, 0, 2)},
		{"server identifier of five bytes", withOpt(54, 192, 0, 2, 10, 0)},
		{"not ethernet", func() []byte { b := append([]byte(nil), good...); b[1] = 6; return b }()},
		{"loopback giaddr", func() []byte { b := append([]byte(nil), good...); copy(b[24:], []byte{127, 0, 0, 1}); return b }()},
		{"broadcast ciaddr", func() []byte { b := append([]byte(nil), good...); copy(b[12:], []byte{255, 255, 255, 255}); return b }()},
		{"multicast giaddr", func() []byte { b := append([]byte(nil), good...); copy(b[24:], []byte{224, 0, 0, 1}); return b }()},
		{"hardware address of 16 bytes", func() []byte { b := append([]byte(nil), good...); b[2] = 16; return b }()},
	}
	for _, mode := range []Mode{ModeProxy, ModeAuthoritative} {
		for _, port := range []int{PortServer, PortPXE} {
			e := newEnv(t, testConfig(mode))
			for _, tc := range tests {
				t.Run(string(mode)+"/"+tc.name, func(t *testing.T) {
					if r, ok := e.srv.Handle(tc.data, clientSrc, port); ok {
						t.Errorf("Handle(%s) = %s, want no reply", tc.name, r.Packet.MessageType())
					}
				})
			}
			st := e.srv.Stats()
			if st.Malformed != uint64(len(tests)) || st.Received != uint64(len(tests)) {
				t.Errorf("%s port %d: Stats() = %+v, want %d received and malformed", mode, port, st, len(tests))
			}
			if ls, tl := e.leases(), e.timeline(1); len(ls)+len(tl) != 0 {
				t.Errorf("%s port %d: malformed packets left leases %v and events %v", mode, port, ls, tl)
			}
			if !strings.Contains(e.logs.String(), "level=DEBUG msg=\"malformed packet\"") {
				t.Errorf("no Debug line for malformed packets:\n%s", e.logs)
			}
		}
	}
}

func TestProxyIgnores(t *testing.T) {
	e := newEnv(t, testConfig(ModeProxy))
	tests := []struct {
		name string
		m    *dhcpv4.DHCPv4
	}{
		{"a laptop", msg(discoverT, 1)},
		{"a request for another server", msg(requestT, 2, with(pxeX64EFI, want("192.0.2.77"), serverID("192.0.2.1"))...)},
		{"a release", msg(releaseT, 3, with(pxeX64EFI, ciaddr("192.0.2.77"))...)},
		{"a reply", func() *dhcpv4.DHCPv4 {
			m := msg(discoverT, 4, pxeX64EFI...)
			m.OpCode = dhcpv4.OpcodeBootReply
			return m
		}()},
		{"BOOTP without message type", func() *dhcpv4.DHCPv4 { m := msg(discoverT, 5); m.Options = dhcpv4.Options{}; return m }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { e.silent(tc.m) })
	}
	if got := e.srv.Stats().Ignored; got != uint64(len(tests)) {
		t.Errorf("Stats().Ignored = %d, want %d", got, len(tests))
	}
}

// TestProxyRecordsAddresses checks that proxy mode notes a booting client's
// address as soon as it shows, so TFTP and HTTP by address are attributed.
func TestProxyRecordsAddresses(t *testing.T) {
	e := newEnv(t, testConfig(ModeProxy))
	e.must(msg(discoverT, 1, pxeX64EFI...), offerT)
	// The REQUEST to the site's server drops option 60 (FORMATS case 4).
	e.silent(msg(requestT, 1, want("192.0.2.77"), serverID("192.0.2.1")))
	src := netip.MustParseAddrPort("192.0.2.78:68")
	if _, ok := e.send(msg(requestT, 1, ipxeEFI...), src, PortPXE); !ok {
		t.Fatal("port 4011 request got no reply")
	}
	wantTL := []string{"dhcp-offer invalid IP", "dhcp-discover 192.0.2.77", "dhcp-ack 192.0.2.78"}
	if diff := cmp.Diff(wantTL, e.timeline(1)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	for _, ip := range []string{"192.0.2.77", "192.0.2.78"} {
		if got, err := e.store.MACByIP(netip.MustParseAddr(ip)); err != nil || got != mac(1).String() {
			t.Errorf("MACByIP(%s) = %q, %v; want %s", ip, got, err, mac(1))
		}
	}
	evs, _ := e.store.Timeline(mac(1).String())
	if d := evs[0].Detail; d != "arch=x64-efi file=ipxe.efi client_arch=x64-efi vendor=PXEClient:Arch:00007:UNDI:003000" {
		t.Errorf("offer event detail = %q, want arch and file", d)
	}

	// A laptop's REQUEST leaves no trace.
	e.silent(msg(requestT, 2, want("192.0.2.79"), serverID("192.0.2.1")))
	if _, err := e.store.MACByIP(netip.MustParseAddr("192.0.2.79")); err == nil {
		t.Error("a laptop's address was recorded")
	}
}

func TestClassCacheBounded(t *testing.T) {
	cc := newClassCache()
	c := Class{PXE: true}
	first := classKey{mac: "first"}
	cc.put(first, c, t0)
	for i := range classCacheSize {
		cc.put(classKey{mac: "m", xid: dhcpv4.TransactionID{byte(i >> 8), byte(i)}}, c, t0)
	}
	if _, ok := cc.get(first, t0); ok {
		t.Error("oldest entry survived a full cache")
	}
	if len(cc.byKey) != classCacheSize {
		t.Errorf("cache holds %d entries, want %d", len(cc.byKey), classCacheSize)
	}
	n := classCacheSize - 1
	last := classKey{mac: "m", xid: dhcpv4.TransactionID{byte(n >> 8), byte(n)}}
	if _, ok := cc.get(last, t0.Add(classCacheTTL)); ok {
		t.Error("entry outlived its TTL")
	}
	if _, ok := cc.get(last, t0); !ok {
		t.Error("newest entry missing")
	}
}

func TestWorkersDropBeyondCap(t *testing.T) {
	w := &workers{slots: make(chan struct{}, 1)}
	release := make(chan struct{})
	if !w.try(func() { <-release }) {
		t.Fatal("try() = false with a free slot")
	}
	if w.try(func() {}) {
		t.Error("try() = true with every slot busy")
	}
	close(release)
	w.wg.Wait()
	if !w.try(func() {}) {
		t.Error("try() = false after the slot was freed")
	}
	w.wg.Wait()
}
