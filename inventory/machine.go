package inventory

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Arch is a client system architecture as DHCP option 93 names it
// (RFC 4578 section 2.1, IANA "Processor Architecture Types").
type Arch string

// Architectures rackboot knows how to boot. The zero value means "not set".
const (
	ArchBIOS      Arch = "bios"       // option 93 type 0, x86 BIOS
	ArchIA32EFI   Arch = "ia32-efi"   // type 6
	ArchX64EFI    Arch = "x64-efi"    // types 7 and 9
	ArchARM32EFI  Arch = "arm32-efi"  // type 10
	ArchARM64EFI  Arch = "arm64-efi"  // type 11
	ArchX86HTTP   Arch = "x86-http"   // type 15
	ArchX64HTTP   Arch = "x64-http"   // type 16
	ArchARM64HTTP Arch = "arm64-http" // type 19
)

// Valid reports whether a is one of the architectures above.
func (a Arch) Valid() bool {
	switch a {
	case ArchBIOS, ArchIA32EFI, ArchX64EFI, ArchARM32EFI, ArchARM64EFI,
		ArchX86HTTP, ArchX64HTTP, ArchARM64HTTP:
		return true
	}
	return false
}

// State is where a machine is in its provisioning life.
type State string

// Machine states, in the order a machine normally passes through them.
const (
	StateDiscovered State = "discovered" // seen on the network, nothing served yet
	StateBooting    State = "booting"    // boot loader, script or assets served
	StateOSBooted   State = "os-booted"  // the booted OS called back
	// StateIgnitionServed: the machine's Ignition config went out.
	StateIgnitionServed State = "ignition-served"
	StateCSRPending     State = "csr-pending" // the kubelet asked for its client certificate
	StateRegistered     State = "registered"  // the machine's Node object exists
	StateReady          State = "ready"       // the Node is Ready
	StateDegraded       State = "degraded"    // a Ready Node went NotReady
	StateFailed         State = "failed"      // a stage missed its deadline
)

// states are the machine states, in order.
var states = []State{StateDiscovered, StateBooting, StateOSBooted, StateIgnitionServed,
	StateCSRPending, StateRegistered, StateReady, StateDegraded, StateFailed}

// Known reports whether s is one of the machine states above.
func (s State) Known() bool { return slices.Contains(states, s) }

// States returns every machine state, in the order a machine normally
// passes through them.
func States() []State { return slices.Clone(states) }

// LocalBoot is how an installed machine's iPXE script hands the boot to
// the machine's local disk.
type LocalBoot string

// Local boot methods. The zero value picks one by firmware: sanboot under
// BIOS, exit under UEFI.
const (
	// LocalBootExit ends iPXE with an error status, so that the firmware
	// goes on to its next boot option (under UEFI, the disk's loader).
	LocalBootExit LocalBoot = "exit"
	// LocalBootSanboot boots the first BIOS hard disk (drive 0x80)
	// through iPXE's sanboot.
	LocalBootSanboot LocalBoot = "sanboot"
)

// Profile says what a machine boots: a kernel, its initrds and arguments.
// Asset names are paths relative to the assets directory.
type Profile struct {
	Name    string   `json:"name"`
	Kernel  string   `json:"kernel"`
	Initrds []string `json:"initrds,omitempty"`
	// Args is the kernel command line, without initrd= (added under UEFI).
	Args string `json:"args,omitempty"`
	// SHA256 maps an asset name (Kernel or one of Initrds) to its expected
	// lower-case hex sha256; rackboot checks them at start.
	SHA256 map[string]string `json:"sha256,omitempty"`
	// Ignition, when set, makes the profile's machines fetch a rendered
	// Ignition config that turns them into Kubernetes workers.
	Ignition *IgnitionSettings `json:"ignition,omitempty"`
	// LocalBoot is how the profile's machines boot from their disk once
	// installed: exit or sanboot; the zero value picks by firmware.
	LocalBoot LocalBoot `json:"local_boot,omitempty"`
}

// Machine is one declared machine.
type Machine struct {
	Name    string            `json:"name"`
	MACs    []string          `json:"macs"`
	Profile string            `json:"profile"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Address is the reserved IPv4 address in authoritative mode; the zero
	// value means "take one from the pool".
	Address netip.Addr `json:"address,omitzero"`
	// Arch overrides the architecture the client claims in option 93; the
	// zero value means "believe the client".
	Arch Arch `json:"arch,omitempty"`
	// BMC is how rackboot reaches the machine's BMC; nil means none.
	BMC *BMC `json:"bmc,omitempty"`
	// Source says where the declaration comes from. The catalog sets it;
	// it is neither read from the inventory file nor stored.
	Source Source `json:"-"`
}

// Source is where a machine's declaration comes from.
type Source string

// Sources of declarations. A machine the catalog does not declare (one
// only discovered on the network) has none.
const (
	// SourceFile: the operator's inventory file. The API shows such a
	// machine read-only; only the file changes it.
	SourceFile Source = "file"
	// SourceAPI: declared through the REST API and kept in the store.
	SourceAPI Source = "api"
)

// NormalizeMAC returns mac in rackboot's canonical form, lower-case and
// colon-separated ("02:00:00:00:00:01"). It accepts the forms net.ParseMAC
// accepts and the hyphen form iPXE and Windows print. Only 6-byte Ethernet
// addresses are accepted.
func NormalizeMAC(mac string) (string, error) {
	hw, err := net.ParseMAC(strings.TrimSpace(mac))
	if err != nil {
		return "", fmt.Errorf("parsing mac %q: %w", mac, err)
	}
	if len(hw) != 6 {
		return "", fmt.Errorf("parsing mac %q: not a 6-byte ethernet address", mac)
	}
	return hw.String(), nil
}
