package dhcp

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Mode says whether the server hands out addresses.
type Mode string

// Modes of operation.
const (
	// ModeProxy answers network-boot clients only and never assigns an
	// address (ProxyDHCP, PXE 2.1 section 2.2.5).
	ModeProxy Mode = "proxy"
	// ModeAuthoritative assigns addresses from Config.Pools.
	ModeAuthoritative Mode = "authoritative"
)

// Defaults applied by NewServer to zero Config fields.
const (
	DefaultLeaseTime   = time.Hour
	DefaultOfferHold   = 30 * time.Second
	DefaultDeclineHold = 10 * time.Minute
	DefaultWorkers     = 64
)

// DefaultLoaders returns the boot loader file per architecture that
// Config.Loaders starts from (the iPXE builds Debian ships in /usr/lib/ipxe).
func DefaultLoaders() map[inventory.Arch]string {
	return map[inventory.Arch]string{
		inventory.ArchBIOS:      "undionly.kpxe",
		inventory.ArchX64EFI:    "ipxe.efi",
		inventory.ArchX64HTTP:   "ipxe.efi",
		inventory.ArchIA32EFI:   "ipxe-i386.efi",
		inventory.ArchARM64EFI:  "ipxe-arm64.efi",
		inventory.ArchARM64HTTP: "ipxe-arm64.efi",
	}
}

// Pool is a range of addresses handed out on one subnet in authoritative
// mode.
type Pool struct {
	// Subnet is the network the pool's clients live on, e.g. 10.0.0.0/24.
	// Replies carry its mask (option 1).
	Subnet netip.Prefix
	// Start and End bound the dynamic range, both included. Reservations
	// may lie anywhere in Subnet.
	Start, End netip.Addr
	// Router is the default gateway (option 3); zero means none.
	Router netip.Addr
	// DNS lists name servers (option 6); empty means none.
	DNS []netip.Addr
}

// Config configures a Server. Validate's errors name fields as in the
// brackets below: rackboot's command-line flag where it has one.
type Config struct {
	// Interface is the one network interface served [interface]. Packets
	// arriving on any other interface are never seen.
	Interface string
	// Mode is proxy or authoritative [mode]; "" means proxy.
	Mode Mode
	// ServerIP is the IPv4 address clients reach rackboot at [server-ip]:
	// option 54, siaddr and option 66.
	ServerIP netip.Addr
	// HTTPURL is the public base URL of rackboot's web server [http-url],
	// e.g. "http://192.0.2.10:8080"; a trailing slash is ignored.
	HTTPURL string
	// Loaders maps an architecture to its boot loader file [loader-*]. It
	// overrides DefaultLoaders entry by entry; an empty file name turns an
	// architecture off. Clients of an architecture without a loader get no
	// boot parameters.
	Loaders map[inventory.Arch]string
	// Pools are the address pools of authoritative mode [pools[i].subnet,
	// .start, .end, .router, .dns]; at least one is required there, and
	// proxy mode ignores them (but validates any given). The pool whose
	// Subnet holds a relay's giaddr serves that relay; the pool holding
	// ServerIP serves local clients.
	Pools []Pool
	// LeaseTime is the lease length [lease-time]; zero means
	// DefaultLeaseTime.
	LeaseTime time.Duration
	// OfferHold is how long an offered address is kept for its client
	// before another may get it [offer-hold]; zero means DefaultOfferHold.
	OfferHold time.Duration
	// DeclineHold is how long a declined address stays out of use
	// [decline-hold]; zero means DefaultDeclineHold.
	DeclineHold time.Duration
	// Workers caps the packets handled at once [workers]; packets beyond it
	// are dropped and counted. Zero means DefaultWorkers.
	Workers int
	// Metrics counts packets and offers for Prometheus; nil counts
	// nothing. Build it with NewMetrics.
	Metrics *Metrics
	// CursorSeed, in authoritative mode, picks where in each pool's
	// dynamic range the search for a free address starts: a hash of it,
	// modulo the range's size. Replicas sharing a lease store give each
	// their own (the replica id), so that they rarely offer one address
	// at once. Empty starts at Pool.Start.
	CursorSeed string
	// LeaseFeed, when set, tells the server of leases other replicas
	// store (see LeaseFeed). Nil means the inventory's own, if it
	// implements LeaseFeed, else none.
	LeaseFeed LeaseFeed
}

// Validate checks c and names the first bad field in its error.
func (c Config) Validate() error {
	checks := []func() error{
		c.checkInterface, c.checkMode, c.checkServerIP, c.checkHTTPURL,
		c.checkLoaders, c.checkPools, c.checkDurations,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) checkInterface() error {
	switch {
	case c.Interface == "":
		return errors.New("interface: required")
	case len(c.Interface) > 15 || strings.ContainsAny(c.Interface, "/ \t\n\x00"):
		return fmt.Errorf("interface: %q is not an interface name", c.Interface)
	}
	return nil
}

func (c Config) checkMode() error {
	switch c.Mode {
	case "", ModeProxy, ModeAuthoritative:
		return nil
	}
	return fmt.Errorf("mode: %q is neither proxy nor authoritative", c.Mode)
}

func (c Config) checkServerIP() error {
	ip := c.ServerIP
	if !ip.Is4() || ip.IsUnspecified() || ip.IsMulticast() || ip == broadcastIP {
		return fmt.Errorf("server-ip: %v is not a unicast IPv4 address", ip)
	}
	return nil
}

func (c Config) checkHTTPURL() error {
	u, err := url.Parse(c.HTTPURL)
	if err != nil {
		return fmt.Errorf("http-url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("http-url: %q is not an absolute http or https URL", c.HTTPURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("http-url: %q must not carry a query or fragment", c.HTTPURL)
	}
	return nil
}

func (c Config) checkLoaders() error {
	for arch, file := range c.Loaders {
		if !arch.Valid() {
			return fmt.Errorf("loaders: %q is not an architecture", arch)
		}
		if err := checkLoaderFile(file); err != nil {
			return fmt.Errorf("loader-%s: %w", arch, err)
		}
	}
	return nil
}

// checkLoaderFile accepts names that fit the BOOTP file field (RFC 951) and
// stay inside the TFTP root and the /loaders/ URL path.
func checkLoaderFile(f string) error {
	switch {
	case len(f) > maxFileField:
		return fmt.Errorf("%q is longer than %d bytes", f, maxFileField)
	case strings.ContainsAny(f, "\x00 \t\r\n\\?#%"):
		return fmt.Errorf("%q holds a space, control, '\\', '?', '#' or '%%'", f)
	case strings.HasPrefix(f, "/") || f == ".." || strings.HasPrefix(f, "../") ||
		strings.Contains(f, "/../") || strings.HasSuffix(f, "/.."):
		return fmt.Errorf("%q must be a relative path without \"..\" elements", f)
	}
	return nil
}

func (c Config) checkPools() error {
	if c.Mode == ModeAuthoritative && len(c.Pools) == 0 {
		return errors.New("pools: authoritative mode needs at least one pool")
	}
	for i, p := range c.Pools {
		if err := p.check(fmt.Sprintf("pools[%d]", i)); err != nil {
			return err
		}
		for j := range i {
			if c.Pools[j].Subnet.Overlaps(p.Subnet) {
				return fmt.Errorf("pools[%d].subnet: %v overlaps pools[%d]", i, p.Subnet, j)
			}
		}
	}
	return nil
}

// check validates p; errors start with field, e.g. "pools[0]".
func (p Pool) check(field string) error {
	s := p.Subnet
	if !s.IsValid() || !s.Addr().Is4() || s.Bits() > 30 || s != s.Masked() {
		return fmt.Errorf("%s.subnet: %v is not an IPv4 network of at most /30", field, s)
	}
	for _, f := range []struct {
		name string
		ip   netip.Addr
	}{{"start", p.Start}, {"end", p.End}} {
		if !s.Contains(f.ip) || f.ip == s.Addr() || f.ip == lastAddr(s) {
			return fmt.Errorf("%s.%s: %v is not a host address of %v", field, f.name, f.ip, s)
		}
	}
	if p.End.Less(p.Start) {
		return fmt.Errorf("%s.end: %v comes before start %v", field, p.End, p.Start)
	}
	if p.Router.IsValid() && !s.Contains(p.Router) {
		return fmt.Errorf("%s.router: %v is outside %v", field, p.Router, s)
	}
	for _, d := range p.DNS {
		if !d.Is4() {
			return fmt.Errorf("%s.dns: %v is not an IPv4 address", field, d)
		}
	}
	return nil
}

func (c Config) checkDurations() error {
	if c.LeaseTime < 0 || (c.LeaseTime > 0 && c.LeaseTime < time.Minute) ||
		c.LeaseTime > math.MaxUint32*time.Second {
		return fmt.Errorf("lease-time: %v is outside 1m to 136y", c.LeaseTime)
	}
	if c.OfferHold < 0 {
		return fmt.Errorf("offer-hold: %v is negative", c.OfferHold)
	}
	if c.DeclineHold < 0 {
		return fmt.Errorf("decline-hold: %v is negative", c.DeclineHold)
	}
	if c.Workers < 0 {
		return fmt.Errorf("workers: %d is negative", c.Workers)
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults and the
// loader table merged over DefaultLoaders.
func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeProxy
	}
	c.HTTPURL = strings.TrimRight(c.HTTPURL, "/")
	loaders := DefaultLoaders()
	for arch, file := range c.Loaders {
		if file == "" {
			delete(loaders, arch)
			continue
		}
		loaders[arch] = file
	}
	c.Loaders = loaders
	c.LeaseTime = orDefault(c.LeaseTime, DefaultLeaseTime)
	c.OfferHold = orDefault(c.OfferHold, DefaultOfferHold)
	c.DeclineHold = orDefault(c.DeclineHold, DefaultDeclineHold)
	c.Workers = orDefault(c.Workers, DefaultWorkers)
	return c
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
