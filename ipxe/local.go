package ipxe

import (
	"bytes"
	"fmt"

	"github.com/rackboot/rackboot/inventory"
)

// LocalMethod is how t boots its local disk: the profile's local_boot,
// else sanboot under BIOS and exit under UEFI. UEFI has no BIOS drive
// 0x80, and its boot manager goes on to the disk's boot loader when iPXE
// exits with an error.
func LocalMethod(t Target) inventory.LocalBoot {
	switch {
	case t.Profile.LocalBoot != "":
		return t.Profile.LocalBoot
	case t.EFI:
		return inventory.LocalBootExit
	}
	return inventory.LocalBootSanboot
}

// Local renders the script of an installed machine: boot from the local
// disk, never the installer. With exit, iPXE ends with status 1 so that
// UEFI firmware tries its next boot option instead of stopping in its boot
// menu (EDK2 does so after a boot option that returns success). With
// sanboot, iPXE boots BIOS drive 0x80 without describing it to the OS
// (no iBFT); if that fails, the machine waits and chains back to
// /boot.ipxe, so that a reprovision reaches it without a power cycle.
func (s *Scripts) Local(t Target) ([]byte, error) {
	mac, err := inventory.NormalizeMAC(t.MAC)
	if err != nil {
		return nil, err
	}
	firmware := "BIOS"
	if t.EFI {
		firmware = "UEFI"
	}
	how := LocalMethod(t)
	var b bytes.Buffer
	b.WriteString("#!ipxe\n")
	fmt.Fprintf(&b, "# rackboot: %s (%s), profile %s, %s: installed, local boot by %s\n",
		t.Machine.Name, mac, t.Profile.Name, firmware, how)
	fmt.Fprintf(&b, "echo rackboot: %s is installed, booting from its local disk\n", t.Machine.Name)
	switch how {
	case inventory.LocalBootExit:
		b.WriteString("exit 1\n")
	case inventory.LocalBootSanboot:
		b.WriteString("sanboot --no-describe --drive 0x80 || goto failed\n")
		b.WriteString(":failed\n")
		fmt.Fprintf(&b, "echo rackboot: booting %s from its local disk failed, asking again in %d s\n",
			t.Machine.Name, s.retry)
		fmt.Fprintf(&b, "sleep %d\n", s.retry)
		fmt.Fprintf(&b, "chain --replace --autofree %s/boot.ipxe || goto failed\n", s.base)
	default:
		return nil, fmt.Errorf("profile %s: local_boot %q is not exit or sanboot",
			t.Profile.Name, how)
	}
	return checked(b.Bytes())
}
