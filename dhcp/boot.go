package dhcp

import (
	"fmt"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rackboot/rackboot/inventory"
)

// maxFileField is the longest name the BOOTP file field holds with its
// terminating NUL (RFC 951, RFC 2131 section 2: 128 bytes).
const maxFileField = 127

// PXE vendor sub-options in option 43 (PXE 2.1 section 2.4, table 2-1).
const (
	pxeDiscoveryControl = 6   // PXE_DISCOVERY_CONTROL
	pxeBootItem         = 71  // PXE_BOOT_ITEM
	pxeEnd              = 255 // end of the sub-option list
	// discoveryUseFile is bit 3 of PXE_DISCOVERY_CONTROL: a boot file in
	// the offer is downloaded at once, without menu or boot server
	// discovery.
	discoveryUseFile = 0x08
)

// boot is what a reply tells a network-boot client to load.
type boot struct {
	// file goes into the BOOTP file field and option 67 (RFC 2132 section
	// 9.5): a TFTP name for firmware, an absolute URL otherwise.
	file string
	// tftp says file is fetched from us by TFTP: siaddr and option 66.
	tftp bool
	// vendor is option 60 of the reply, or "".
	vendor string
	// arch is the architecture served, for logs and events.
	arch inventory.Arch
}

// detail describes b for a timeline event.
func (b boot) detail() string {
	arch := string(b.arch)
	if arch == "" {
		arch = "any"
	}
	return fmt.Sprintf("arch=%s file=%s", arch, b.file)
}

// bootFor returns the boot parameters for a client of class c. ok is false
// when c does not network-boot or no loader fits it; why says which.
func (s *Server) bootFor(c Class) (b boot, why string, ok bool) {
	switch {
	case c.IPXE:
		// iPXE gets the script, never a loader again, so the chain ends.
		b = boot{file: s.cfg.HTTPURL + "/boot.ipxe", arch: c.Arch}
	case !c.HTTP && !c.PXE:
		return boot{}, "not a network-boot client", false
	case c.Arch == "":
		return boot{}, "unknown architecture", false
	default:
		loader, found := s.cfg.Loaders[c.Arch]
		if !found {
			return boot{}, "no loader for " + string(c.Arch), false
		}
		b = boot{file: loader, tftp: !c.HTTP, arch: c.Arch}
		if c.HTTP {
			// UEFI HTTP Boot takes only an absolute URL.
			b.file = s.cfg.HTTPURL + "/loaders/" + loader
		}
	}
	switch {
	case c.HTTP && !c.IPXE:
		b.vendor = vendorHTTP
	case c.PXE:
		b.vendor = vendorPXE
	}
	return b, "", true
}

// applyBoot writes b into reply m.
func (s *Server) applyBoot(m *dhcpv4.DHCPv4, b boot) {
	if len(b.file) <= maxFileField {
		m.BootFileName = b.file
	}
	m.UpdateOption(dhcpv4.OptBootFileName(b.file))
	// siaddr goes with every boot file, URLs included: iPXE takes a
	// ProxyDHCP reply as boot information only when it carries both a
	// next server and a file name.
	m.ServerIPAddr = toIP(s.cfg.ServerIP)
	if b.tftp {
		m.UpdateOption(dhcpv4.OptTFTPServerName(s.cfg.ServerIP.String()))
	}
	if b.vendor != "" {
		m.UpdateOption(dhcpv4.OptClassIdentifier(b.vendor))
	}
}

// discoveryOptions is option 43 for a PXE client taking its boot file from
// an offer: PXE_DISCOVERY_CONTROL = use the file name, then End.
var discoveryOptions = []byte{pxeDiscoveryControl, 1, discoveryUseFile, pxeEnd}

// bootItem returns sub-option 71 (PXE_BOOT_ITEM, type and layer) of a
// client's option 43, whole and with its header, for the boot server to
// mirror (PXE 2.1 section 2.2.6). ok is false when it is absent or the
// sub-option list is malformed; the list is never read past its end.
func bootItem(opt43 []byte) (item []byte, ok bool) {
	for i := 0; i < len(opt43); {
		code := opt43[i]
		switch code {
		case 0:
			i++
			continue
		case pxeEnd:
			return nil, false
		}
		if i+1 >= len(opt43) {
			return nil, false
		}
		n := int(opt43[i+1])
		if i+2+n > len(opt43) {
			return nil, false
		}
		if code == pxeBootItem && n == 4 {
			return append([]byte(nil), opt43[i:i+2+n]...), true
		}
		i += 2 + n
	}
	return nil, false
}
