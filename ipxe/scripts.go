package ipxe

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Default delays of Config.
const (
	DefaultRetryDelay   = 10 * time.Second
	DefaultUnknownDelay = 30 * time.Second
)

// Config says where scripts point and how long clients wait between tries.
type Config struct {
	// BaseURL is rackboot's public HTTP base URL as clients reach it, for
	// example "http://192.0.2.10:8080". It must be plain http: Debian's
	// iPXE has no HTTPS.
	BaseURL string
	// RetryDelay is how long a client sleeps after a failed fetch or boot
	// before it tries again; zero means DefaultRetryDelay. iPXE sleeps in
	// whole seconds, so it is rounded up to one.
	RetryDelay time.Duration
	// UnknownDelay is how long a machine missing from the inventory sleeps
	// before it asks again; zero means DefaultUnknownDelay.
	UnknownDelay time.Duration
}

// Scripts renders rackboot's iPXE scripts for one base URL. It is
// immutable and safe for concurrent use.
type Scripts struct {
	base    string // validated, without a trailing slash
	retry   int    // seconds
	unknown int    // seconds
}

// Target is what one per-machine script boots.
type Target struct {
	// MAC is the booting interface, in canonical form.
	MAC     string
	Machine inventory.Machine
	Profile inventory.Profile
	// EFI is true when the client runs iPXE on UEFI; the kernel line then
	// names each initrd (initrd=<name>) for the Linux EFI stub.
	EFI bool
}

// New checks cfg and returns the renderer for it.
func New(cfg Config) (*Scripts, error) {
	base, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.RetryDelay < 0 || cfg.UnknownDelay < 0 {
		return nil, errors.New("delays must not be negative")
	}
	return &Scripts{
		base:    base,
		retry:   seconds(cfg.RetryDelay, DefaultRetryDelay),
		unknown: seconds(cfg.UnknownDelay, DefaultUnknownDelay),
	}, nil
}

// seconds rounds d up to whole seconds, using def when d is zero.
func seconds(d, def time.Duration) int {
	if d == 0 {
		d = def
	}
	return int((d + time.Second - 1) / time.Second)
}

// checkBaseURL accepts an absolute http URL made only of characters that
// mean nothing to iPXE's parser, which leaves out user, query and fragment.
func checkBaseURL(raw string) (string, error) {
	for i := 0; i < len(raw); i++ {
		if !urlSafe(raw[i]) {
			return "", fmt.Errorf("base url %q: character %q is not allowed", raw, raw[i])
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("base url: %w", err)
	}
	switch {
	case u.Scheme != "http":
		return "", fmt.Errorf("base url %q: scheme must be http (Debian's iPXE has no https)", raw)
	case u.Host == "":
		return "", fmt.Errorf("base url %q: no host", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// urlSafe reports whether c may appear in a base URL: RFC 3986 unreserved
// characters and the delimiters of scheme, host, port and path.
func urlSafe(c byte) bool {
	return unreserved(c) || strings.IndexByte(":/[]", c) >= 0
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
		'0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

// Chain renders the script served at /boot.ipxe. It asks for
// /ipxe with the MAC of netX, the interface iPXE booted from (autoboot
// closes every other one, so netX is not always net0), in hyphen form so
// that the query needs no escaping; ${uuid} formats as hex and hyphens;
// the two strings go through iPXE's uristring encoding. A failed fetch
// sleeps and tries again instead of falling back to another DHCP round.
func (s *Scripts) Chain() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("#!ipxe\n")
	b.WriteString("# rackboot: fetch this machine's own script\n")
	b.WriteString(":retry\n")
	fmt.Fprintf(&b, "chain --replace --autofree %s/ipxe?mac=${netX/mac:hexhyp}"+
		"&uuid=${uuid}&arch=${buildarch:uristring}"+
		"&platform=${platform:uristring} || goto failed\n", s.base)
	b.WriteString(":failed\n")
	fmt.Fprintf(&b, "echo rackboot: fetching the boot script failed, retrying in %d s\n", s.retry)
	fmt.Fprintf(&b, "sleep %d\n", s.retry)
	b.WriteString("goto retry\n")
	return checked(b.Bytes())
}

// Boot renders the per-machine script for t: free images left by an
// earlier try, fetch the kernel with its arguments and the initrds, boot.
// Any failure sleeps and chains back to /boot.ipxe.
func (s *Scripts) Boot(t Target) ([]byte, error) {
	mac, err := inventory.NormalizeMAC(t.MAC)
	if err != nil {
		return nil, err
	}
	if err := CheckProfile(t.Profile); err != nil {
		return nil, fmt.Errorf("profile %s: %w", t.Profile.Name, err)
	}
	firmware := "BIOS"
	if t.EFI {
		firmware = "UEFI"
	}
	var b bytes.Buffer
	b.WriteString("#!ipxe\n")
	fmt.Fprintf(&b, "# rackboot: %s (%s), profile %s, %s\n",
		t.Machine.Name, mac, t.Profile.Name, firmware)
	b.WriteString("imgfree\n")
	fmt.Fprintf(&b, "kernel %s || goto failed\n",
		strings.Join(kernelLine(s.base, mac, t.Profile, t.EFI), " "))
	for _, initrd := range t.Profile.Initrds {
		fmt.Fprintf(&b, "initrd %s || goto failed\n", assetURL(s.base, initrd))
	}
	b.WriteString("boot || goto failed\n")
	b.WriteString(":failed\n")
	fmt.Fprintf(&b, "echo rackboot: booting %s failed, retrying in %d s\n",
		t.Machine.Name, s.retry)
	fmt.Fprintf(&b, "sleep %d\n", s.retry)
	fmt.Fprintf(&b, "chain --replace --autofree %s/boot.ipxe || goto failed\n", s.base)
	return checked(b.Bytes())
}

// kernelLine returns the arguments of the kernel command: the URL, then
// initrd=<image name> per initrd under UEFI, then the profile's args, then
// the Ignition arguments of a profile with Ignition settings.
func kernelLine(base, mac string, p inventory.Profile, efi bool) []string {
	line := []string{assetURL(base, p.Kernel)}
	if efi {
		for _, initrd := range p.Initrds {
			line = append(line, "initrd="+imageName(initrd))
		}
	}
	line = append(line, strings.Fields(p.Args)...)
	return append(line, ignitionArgs(base, mac, p)...)
}

// ignitionArgs make the booted OS run Ignition on its first boot and
// fetch its config from rackboot's /ignition, naming the booting
// interface's MAC and the SMBIOS UUID, which iPXE expands when it runs the
// kernel command. Flatcar starts Ignition on flatcar.first_boot; Fedora
// CoreOS on ignition.firstboot, with the metal platform for a PXE boot.
func ignitionArgs(base, mac string, p inventory.Profile) []string {
	if p.Ignition == nil {
		return nil
	}
	url := "ignition.config.url=" + base + "/ignition?mac=" +
		strings.ReplaceAll(mac, ":", "-") + "&uuid=${uuid}"
	if p.Ignition.OS == inventory.OSFlatcar {
		return []string{"flatcar.first_boot=1", url}
	}
	return []string{"ignition.firstboot", "ignition.platform.id=metal", url}
}

// Unknown renders the script for a machine missing from the inventory: say
// so on its console, wait, and chain back to /boot.ipxe, forever.
func (s *Scripts) Unknown(mac string) ([]byte, error) {
	mac, err := inventory.NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("#!ipxe\n")
	fmt.Fprintf(&b, "# rackboot: %s is not in the inventory\n", mac)
	fmt.Fprintf(&b, "echo rackboot: %s is not in the inventory, asking again every %d s\n",
		mac, s.unknown)
	b.WriteString(":retry\n")
	fmt.Fprintf(&b, "sleep %d\n", s.unknown)
	fmt.Fprintf(&b, "chain --replace --autofree %s/boot.ipxe || goto retry\n", s.base)
	return checked(b.Bytes())
}

// checked returns script if Check accepts it. A failure here is a bug in
// this package or a hole in the input checks, never the client's fault.
func checked(script []byte) ([]byte, error) {
	if err := Check(script); err != nil {
		return nil, fmt.Errorf("rendered script is not valid iPXE: %w", err)
	}
	return script, nil
}
