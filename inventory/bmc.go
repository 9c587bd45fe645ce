package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
)

// BMCProtocol is how rackboot talks to a baseboard management controller.
type BMCProtocol string

// BMC protocols. The zero value means BMCAuto.
const (
	BMCRedfish BMCProtocol = "redfish" // DMTF Redfish over HTTPS
	BMCIPMI    BMCProtocol = "ipmi"    // IPMI v2.0 RMCP+ (lanplus) over UDP
	BMCAuto    BMCProtocol = "auto"    // try Redfish, fall back to IPMI
)

// BootMode is the firmware interface a machine boots through, which a BMC
// boot override must name.
type BootMode string

// Boot modes. The zero value means "derive it from the machine's arch".
const (
	BootUEFI   BootMode = "uefi"
	BootLegacy BootMode = "legacy"
)

// BMC says how rackboot reaches a machine's BMC. It names where the
// credentials are, never the credentials themselves.
type BMC struct {
	// Address is the BMC's host name or IP address, without scheme or
	// port.
	Address string `json:"address"`
	// Port is the BMC's TCP (Redfish) or UDP (IPMI) port; zero means the
	// protocol's default, 443 or 623. It must be zero with protocol auto.
	Port int `json:"port,omitempty"`
	// Protocol is redfish, ipmi or auto; the zero value means auto.
	Protocol BMCProtocol `json:"protocol,omitempty"`
	// CredentialsFile is the absolute path of a file holding
	// "username:password" on its first line.
	CredentialsFile string `json:"credentials_file,omitempty"`
	// CredentialsEnv names an environment variable holding
	// "username:password". Exactly one of CredentialsFile and
	// CredentialsEnv is set.
	CredentialsEnv string `json:"credentials_env,omitempty"`
	// CAFile is the absolute path of PEM certificates that sign the BMC's
	// Redfish certificate; empty means the system's roots (or the ones
	// rackboot was configured with).
	CAFile string `json:"ca_file,omitempty"`
	// InsecureSkipVerify turns off Redfish TLS certificate verification
	// for this BMC. Off unless the entry says otherwise.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
	// BootMode is uefi or legacy; the zero value derives it from the
	// machine's arch (bios means legacy, anything else uefi).
	BootMode BootMode `json:"boot_mode,omitempty"`
}

// EffectiveProtocol is b.Protocol with the zero value resolved.
func (b *BMC) EffectiveProtocol() BMCProtocol {
	if b.Protocol == "" {
		return BMCAuto
	}
	return b.Protocol
}

// EffectiveBootMode is b.BootMode, or the mode arch implies when unset.
func (b *BMC) EffectiveBootMode(arch Arch) BootMode {
	switch {
	case b.BootMode != "":
		return b.BootMode
	case arch == ArchBIOS:
		return BootLegacy
	}
	return BootUEFI
}

var (
	hostPattern   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)
	envVarPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// check reports the first bad field of b as "field: problem"; the catalog
// prefixes it with the machine and "bmc.". A nil b is valid.
func (b *BMC) check() error {
	if b == nil {
		return nil
	}
	if err := checkBMCAddress(b.Address); err != nil {
		return fmt.Errorf("address: %w", err)
	}
	if err := b.checkProtocol(); err != nil {
		return err
	}
	if err := b.checkCredentials(); err != nil {
		return err
	}
	if err := b.checkTLS(); err != nil {
		return err
	}
	switch b.BootMode {
	case "", BootUEFI, BootLegacy:
		return nil
	}
	return fmt.Errorf("boot_mode: %q is not uefi or legacy", b.BootMode)
}

func checkBMCAddress(addr string) error {
	if addr == "" {
		return errors.New("required")
	}
	if _, err := netip.ParseAddr(addr); err == nil {
		return nil
	}
	if !hostPattern.MatchString(addr) {
		return fmt.Errorf("%q is not a host name or IP address (no scheme, port or path)", addr)
	}
	return nil
}

func (b *BMC) checkProtocol() error {
	switch b.Protocol {
	case "", BMCAuto, BMCRedfish, BMCIPMI:
	default:
		return fmt.Errorf("protocol: %q is not redfish, ipmi or auto", b.Protocol)
	}
	if b.Port < 0 || b.Port > 65535 {
		return fmt.Errorf("port: %d is not between 1 and 65535", b.Port)
	}
	if b.Port != 0 && b.EffectiveProtocol() == BMCAuto {
		return errors.New("port: set protocol to redfish or ipmi to give a port")
	}
	return nil
}

func (b *BMC) checkCredentials() error {
	switch {
	case b.CredentialsFile == "" && b.CredentialsEnv == "":
		return errors.New("credentials_file: one of credentials_file and " +
			"credentials_env is required")
	case b.CredentialsFile != "" && b.CredentialsEnv != "":
		return errors.New("credentials_env: give credentials_file or credentials_env, not both")
	case b.CredentialsFile != "" && !filepath.IsAbs(b.CredentialsFile):
		return fmt.Errorf("credentials_file: %q is not an absolute path", b.CredentialsFile)
	case b.CredentialsEnv != "" && !envVarPattern.MatchString(b.CredentialsEnv):
		return fmt.Errorf("credentials_env: %q is not an environment variable name",
			b.CredentialsEnv)
	}
	return nil
}

func (b *BMC) checkTLS() error {
	redfish := b.EffectiveProtocol() != BMCIPMI
	switch {
	case b.CAFile != "" && !filepath.IsAbs(b.CAFile):
		return fmt.Errorf("ca_file: %q is not an absolute path", b.CAFile)
	case b.CAFile != "" && b.InsecureSkipVerify:
		return errors.New("insecure_skip_verify: a ca_file is given; verify against it instead")
	case !redfish && (b.CAFile != "" || b.InsecureSkipVerify):
		field := "ca_file"
		if b.InsecureSkipVerify {
			field = "insecure_skip_verify"
		}
		return fmt.Errorf("%s: applies to redfish only; protocol is ipmi", field)
	}
	return nil
}

// String returns the BMC's protocol and address, such as
// "redfish 192.0.2.20:443"; it names no credentials.
func (b *BMC) String() string {
	host := b.Address
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port, proto := b.Port, b.EffectiveProtocol()
	switch {
	case port != 0:
	case proto == BMCIPMI:
		port = 623
	case proto == BMCRedfish:
		port = 443
	default:
		return fmt.Sprintf("%s %s", proto, host)
	}
	return fmt.Sprintf("%s %s:%d", proto, host, port)
}
