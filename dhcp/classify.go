package dhcp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// Option codes read or written here that dhcpv4 has no helper for.
const (
	optVendorSpecific = 43  // RFC 2132 section 8.4, PXE 2.1 section 2.4
	optVendorClass    = 60  // RFC 2132 section 9.13
	optUserClass      = 77  // RFC 3004
	optClientArch     = 93  // RFC 4578 section 2.1
	optClientUUID     = 97  // RFC 4578 section 2.3
	optRelayAgent     = 82  // RFC 3046
	optClientID       = 61  // RFC 2132 section 9.14
	optIPXEEncap      = 175 // iPXE's encapsulated options (feature flags)
)

// Vendor class prefixes of option 60.
const (
	vendorPXE  = "PXEClient"  // PXE 2.1 section 2.2.1
	vendorHTTP = "HTTPClient" // UEFI 2.x section 24.7.2, HTTP Boot
)

// Class is what a client is, as far as network boot goes. The zero Class is
// a client that does not network-boot.
type Class struct {
	// Arch is the architecture to boot, after the operator's override and
	// after matching the transport (a PXE client is never given an HTTP
	// architecture, nor an HTTP client a PXE one). "" means unknown.
	Arch inventory.Arch
	// ArchCode is the first type of option 93 (RFC 4578 section 2.1), or of
	// the "Arch:NNNNN" field of option 60 when 93 is absent; -1 if neither.
	ArchCode int
	// PXE is set when option 60 starts with "PXEClient".
	PXE bool
	// HTTP is set for UEFI HTTP Boot firmware: option 60 "HTTPClient", or an
	// HTTP architecture without a "PXEClient" option 60.
	HTTP bool
	// IPXE is set for iPXE: user class "iPXE" (raw or RFC 3004) or option
	// 175 present.
	IPXE bool
	// UUID is option 97 (type 0 and 16 bytes) when well formed, else nil.
	UUID []byte
	// Notes lists what was malformed or odd, for a Debug log line.
	Notes []string
}

// Boot reports whether c is a network-boot client.
func (c Class) Boot() bool { return c.PXE || c.HTTP || c.IPXE }

// Classify reads a request's options and returns its Class. override is the
// operator's architecture for this machine (inventory.Machine.Arch); when
// valid it beats option 93. Classify never reads past an option's bytes and
// keeps no reference to opts.
func Classify(opts dhcpv4.Options, override inventory.Arch) Class {
	c := Class{ArchCode: -1}
	vendor := string(opts[optVendorClass])
	c.PXE = strings.HasPrefix(vendor, vendorPXE)
	httpVendor := strings.HasPrefix(vendor, vendorHTTP)
	c.IPXE = isIPXE(opts)
	c.UUID, c.Notes = clientUUID(opts, c.Notes)

	claimed := c.readArch(opts, vendor)
	c.HTTP = httpVendor || (!c.PXE && isHTTPArch(claimed))
	arch := claimed
	if override.Valid() {
		arch = override
	}
	c.Arch = forTransport(arch, c.HTTP)
	if c.Arch == "" && arch != "" {
		c.Notes = append(c.Notes, fmt.Sprintf("no %s variant of %s", transport(c.HTTP), arch))
	}
	return c
}

// readArch sets c.ArchCode from option 93, falling back to option 60, and
// returns the architecture it names ("" if unknown).
func (c *Class) readArch(opts dhcpv4.Options, vendor string) inventory.Arch {
	if b, ok := opts[optClientArch]; ok {
		// RFC 4578 section 2.1: a list of 16-bit types, n*2 bytes, n >= 1.
		if len(b) < 2 || len(b)%2 != 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("option 93 has %d bytes", len(b)))
			return ""
		}
		c.ArchCode = int(binary.BigEndian.Uint16(b))
	} else if code, ok := vendorArch(vendor); ok {
		c.ArchCode = code
	}
	if c.ArchCode < 0 {
		return ""
	}
	arch, ok := archByCode[c.ArchCode]
	if !ok {
		c.Notes = append(c.Notes, fmt.Sprintf("architecture type %d unsupported", c.ArchCode))
	}
	return arch
}

// archByCode maps RFC 4578 / IANA processor architecture types to the
// architectures rackboot boots.
var archByCode = map[int]inventory.Arch{
	0:  inventory.ArchBIOS,
	6:  inventory.ArchIA32EFI,
	7:  inventory.ArchX64EFI,
	9:  inventory.ArchX64EFI, // EFI BC, what some firmware reports for x64
	10: inventory.ArchARM32EFI,
	11: inventory.ArchARM64EFI,
	15: inventory.ArchX86HTTP,
	16: inventory.ArchX64HTTP,
	19: inventory.ArchARM64HTTP,
}

// vendorArch reads the architecture field of a PXE or HTTP Boot vendor
// class, "PXEClient:Arch:00007:UNDI:003000" (PXE 2.1 section 2.2.1).
func vendorArch(vendor string) (int, bool) {
	_, rest, ok := strings.Cut(vendor, ":Arch:")
	if !ok || len(rest) < 5 {
		return 0, false
	}
	n, err := strconv.ParseUint(rest[:5], 10, 16)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

func isHTTPArch(a inventory.Arch) bool {
	switch a {
	case inventory.ArchX86HTTP, inventory.ArchX64HTTP, inventory.ArchARM64HTTP:
		return true
	}
	return false
}

// forTransport maps a to the variant a client booting over HTTP (http true)
// or PXE/TFTP can use, or "" when there is none.
func forTransport(a inventory.Arch, http bool) inventory.Arch {
	if !http {
		switch a {
		case inventory.ArchX86HTTP:
			return inventory.ArchIA32EFI
		case inventory.ArchX64HTTP:
			return inventory.ArchX64EFI
		case inventory.ArchARM64HTTP:
			return inventory.ArchARM64EFI
		}
		return a
	}
	switch a {
	case inventory.ArchIA32EFI, inventory.ArchX86HTTP:
		return inventory.ArchX86HTTP
	case inventory.ArchX64EFI, inventory.ArchX64HTTP:
		return inventory.ArchX64HTTP
	case inventory.ArchARM64EFI, inventory.ArchARM64HTTP:
		return inventory.ArchARM64HTTP
	}
	return ""
}

func transport(http bool) string {
	if http {
		return "HTTP Boot"
	}
	return "PXE"
}

var ipxeClass = []byte("iPXE")

// isIPXE reports whether the client is iPXE: option 175 present, or a user
// class (option 77) of "iPXE" either raw, as iPXE sends it, or as one entry
// of an RFC 3004 section 2 list.
func isIPXE(opts dhcpv4.Options) bool {
	if _, ok := opts[optIPXEEncap]; ok {
		return true
	}
	uc := opts[optUserClass]
	if bytes.Equal(uc, ipxeClass) {
		return true
	}
	for len(uc) > 0 {
		n := int(uc[0])
		if n == 0 || n > len(uc)-1 {
			return false // not RFC 3004; the raw form was checked above
		}
		if bytes.Equal(uc[1:1+n], ipxeClass) {
			return true
		}
		uc = uc[1+n:]
	}
	return false
}

// clientUUID returns option 97 when it is well formed (RFC 4578 section
// 2.3: type 0 followed by a 16-byte UUID) and notes it otherwise.
func clientUUID(opts dhcpv4.Options, notes []string) ([]byte, []string) {
	b, ok := opts[optClientUUID]
	switch {
	case !ok:
		return nil, notes
	case len(b) != 17 || b[0] != 0:
		return nil, append(notes, fmt.Sprintf("option 97 malformed (%d bytes), ignored", len(b)))
	}
	return bytes.Clone(b), notes
}
