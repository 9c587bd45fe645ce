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
	// "username:password".
	CredentialsEnv string `json:"credentials_env,omitempty"`
	// CredentialsSecret names a Kubernetes Secret holding the user name
	// and the password. Exactly one of CredentialsFile, CredentialsEnv
	// and CredentialsSecret is set.
	CredentialsSecret *SecretRef `json:"credentials_secret,omitempty"`
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
	n := 0
	for _, set := range []bool{b.CredentialsFile != "", b.CredentialsEnv != "",
		b.CredentialsSecret != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New("credentials_file: one of credentials_file, " +
			"credentials_env and credentials_secret is required")
	case n > 1:
		return errors.New("credentials_env: give only one of credentials_file, " +
			"credentials_env and credentials_secret")
	case b.CredentialsSecret != nil:
		return b.CredentialsSecret.check()
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

// Keys a SecretRef uses when it names none.
const (
	DefaultSecretUserKey     = "username"
	DefaultSecretPasswordKey = "password"
)

// SecretRef names a Kubernetes Secret and the two keys of its data that
// hold a BMC's user name and password. It names where the credentials
// are, never the credentials themselves.
type SecretRef struct {
	// Namespace is the Secret's namespace; empty means rackboot's own
	// (the store namespace, where the Machine resources are too).
	Namespace string `json:"namespace,omitempty"`
	// Name is the Secret's name.
	Name string `json:"name"`
	// UserKey is the key of the user name; empty means
	// DefaultSecretUserKey.
	UserKey string `json:"user_key,omitempty"`
	// PasswordKey is the key of the password; empty means
	// DefaultSecretPasswordKey.
	PasswordKey string `json:"password_key,omitempty"`
}

// WithDefaults returns r with empty keys set to their defaults and an
// empty namespace set to ns.
func (r SecretRef) WithDefaults(ns string) SecretRef {
	if r.Namespace == "" {
		r.Namespace = ns
	}
	if r.UserKey == "" {
		r.UserKey = DefaultSecretUserKey
	}
	if r.PasswordKey == "" {
		r.PasswordKey = DefaultSecretPasswordKey
	}
	return r
}

// String returns "namespace/name", or the name alone without a
// namespace.
func (r SecretRef) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

var (
	// dnsSubdomain is a Kubernetes object name (RFC 1123 subdomain).
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	// dnsLabel is a Kubernetes namespace name (RFC 1123 label).
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// secretKey is a key of a Secret's data.
	secretKey = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)
)

// check reports the first bad field of r as "credentials_secret.field:
// problem".
func (r *SecretRef) check() error {
	const where = "credentials_secret."
	switch {
	case r.Name == "":
		return errors.New(where + "name: required")
	case !dnsSubdomain.MatchString(r.Name):
		return fmt.Errorf(where+"name: %q is not a Kubernetes object name", r.Name)
	case r.Namespace != "" && !dnsLabel.MatchString(r.Namespace):
		return fmt.Errorf(where+"namespace: %q is not a Kubernetes namespace name", r.Namespace)
	case r.UserKey != "" && !secretKey.MatchString(r.UserKey):
		return fmt.Errorf(where+"user_key: %q is not a Secret key", r.UserKey)
	case r.PasswordKey != "" && !secretKey.MatchString(r.PasswordKey):
		return fmt.Errorf(where+"password_key: %q is not a Secret key", r.PasswordKey)
	}
	return nil
}
