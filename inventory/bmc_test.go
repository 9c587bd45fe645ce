package inventory

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// bmcDoc is an inventory with one machine whose bmc entry is entry, a
// YAML flow mapping.
func bmcDoc(entry string) string {
	return "profiles:\n  - {name: tiny, kernel: k}\n" +
		"machines:\n  - name: n1\n    macs: [\"02:00:00:00:00:01\"]\n" +
		"    profile: tiny\n    bmc: " + entry + "\n"
}

func TestParseCatalogBMC(t *testing.T) {
	c, err := ParseCatalog([]byte(bmcDoc(`{address: 192.0.2.20, protocol: redfish,
      port: 8443, credentials_file: /etc/rackboot/n1.cred, ca_file: /etc/rackboot/ca.pem}`)))
	if err != nil {
		t.Fatalf("ParseCatalog: %v", err)
	}
	m, _ := c.Machine("02:00:00:00:00:01")
	want := &BMC{Address: "192.0.2.20", Port: 8443, Protocol: BMCRedfish,
		CredentialsFile: "/etc/rackboot/n1.cred", CAFile: "/etc/rackboot/ca.pem"}
	if diff := cmp.Diff(want, m.BMC); diff != "" {
		t.Errorf("BMC (-want +got):\n%s", diff)
	}
	if got := m.BMC.String(); got != "redfish 192.0.2.20:8443" {
		t.Errorf("String() = %q, want %q", got, "redfish 192.0.2.20:8443")
	}
}

func TestParseCatalogBMCErrors(t *testing.T) {
	const where = "machines[0] (n1): bmc."
	tests := []struct {
		name, entry, want string
	}{
		{"no address", "{credentials_env: N1}", "address: required"},
		{"url as address", "{address: 'https://bmc1', credentials_env: N1}", "address: \"https://bmc1\" is not a host name"},
		{"port in address", "{address: 'bmc1:443', credentials_env: N1}", "address: \"bmc1:443\""},
		{"bad protocol", "{address: bmc1, protocol: ssh, credentials_env: N1}", `protocol: "ssh" is not redfish, ipmi or auto`},
		{"port too big", "{address: bmc1, protocol: ipmi, port: 70000, credentials_env: N1}", "port: 70000"},
		{"port with auto", "{address: bmc1, port: 443, credentials_env: N1}", "port: set protocol to redfish or ipmi"},
		{"no credentials", "{address: bmc1}", "credentials_file: one of credentials_file and credentials_env is required"},
		{"both credentials", "{address: bmc1, credentials_env: N1, credentials_file: /c}", "credentials_env: give credentials_file or credentials_env, not both"},
		{"relative file", "{address: bmc1, credentials_file: n1.cred}", `credentials_file: "n1.cred" is not an absolute path`},
		{"bad env name", "{address: bmc1, credentials_env: 'N-1'}", `credentials_env: "N-1" is not an environment variable name`},
		{"ca and insecure", "{address: bmc1, credentials_env: N1, ca_file: /ca.pem, insecure_skip_verify: true}", "insecure_skip_verify: a ca_file is given"},
		{"relative ca", "{address: bmc1, credentials_env: N1, ca_file: ca.pem}", `ca_file: "ca.pem" is not an absolute path`},
		{"insecure ipmi", "{address: bmc1, protocol: ipmi, credentials_env: N1, insecure_skip_verify: true}", "insecure_skip_verify: applies to redfish only"},
		{"bad boot mode", "{address: bmc1, credentials_env: N1, boot_mode: efi}", `boot_mode: "efi" is not uefi or legacy`},
		{"password field", "{address: bmc1, password: hunter2}", `unknown field "password"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCatalog([]byte(bmcDoc(tt.entry)))
			if err == nil {
				t.Fatalf("ParseCatalog(%s) = nil error, want %q", tt.entry, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCatalog(%s) = %q, want it to contain %q", tt.entry, err, tt.want)
			}
			if !strings.Contains(tt.want, "unknown field") && !strings.Contains(err.Error(), where) {
				t.Errorf("ParseCatalog(%s) = %q, want it to name %q", tt.entry, err, where)
			}
		})
	}
}

func TestBMCEffective(t *testing.T) {
	tests := []struct {
		name  string
		b     BMC
		arch  Arch
		proto BMCProtocol
		mode  BootMode
		str   string
	}{
		{"defaults efi", BMC{Address: "bmc1"}, ArchX64EFI, BMCAuto, BootUEFI, "auto bmc1"},
		{"defaults no arch", BMC{Address: "bmc1"}, "", BMCAuto, BootUEFI, "auto bmc1"},
		{"bios is legacy", BMC{Address: "bmc1", Protocol: BMCIPMI}, ArchBIOS, BMCIPMI, BootLegacy, "ipmi bmc1:623"},
		{"explicit mode wins", BMC{Address: "::1", Protocol: BMCRedfish, BootMode: BootLegacy}, ArchX64EFI, BMCRedfish, BootLegacy, "redfish [::1]:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.EffectiveProtocol(); got != tt.proto {
				t.Errorf("EffectiveProtocol() = %q, want %q", got, tt.proto)
			}
			if got := tt.b.EffectiveBootMode(tt.arch); got != tt.mode {
				t.Errorf("EffectiveBootMode(%q) = %q, want %q", tt.arch, got, tt.mode)
			}
			if got := tt.b.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
		})
	}
}
