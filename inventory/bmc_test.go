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

func TestParseCatalogBMCSecret(t *testing.T) {
	tests := []struct {
		name, entry string
		want        SecretRef
		defaults    SecretRef // want.WithDefaults("rackboot")
	}{
		{"name only", "{name: bmc-n1}", SecretRef{Name: "bmc-n1"},
			SecretRef{Namespace: "rackboot", Name: "bmc-n1", UserKey: "username", PasswordKey: "password"}},
		{"everything", "{name: bmc-n1, namespace: lab, user_key: user, password_key: pass.txt}",
			SecretRef{Namespace: "lab", Name: "bmc-n1", UserKey: "user", PasswordKey: "pass.txt"},
			SecretRef{Namespace: "lab", Name: "bmc-n1", UserKey: "user", PasswordKey: "pass.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCatalog([]byte(bmcDoc("{address: bmc1, credentials_secret: " + tt.entry + "}")))
			if err != nil {
				t.Fatalf("ParseCatalog: %v", err)
			}
			m, _ := c.Machine("02:00:00:00:00:01")
			if diff := cmp.Diff(&tt.want, m.BMC.CredentialsSecret); diff != "" {
				t.Errorf("CredentialsSecret (-want +got):\n%s", diff)
			}
			if got := m.BMC.CredentialsSecret.WithDefaults("rackboot"); got != tt.defaults {
				t.Errorf("WithDefaults(%q) = %+v, want %+v", "rackboot", got, tt.defaults)
			}
		})
	}
}

func TestSecretRefString(t *testing.T) {
	for _, tt := range []struct {
		ref  SecretRef
		want string
	}{
		{SecretRef{Name: "s"}, "s"},
		{SecretRef{Namespace: "lab", Name: "s", UserKey: "u"}, "lab/s"},
	} {
		if got := tt.ref.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.ref, got, tt.want)
		}
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
		{"no credentials", "{address: bmc1}", "credentials_file: one of credentials_file, credentials_env and credentials_secret is required"},
		{"both credentials", "{address: bmc1, credentials_env: N1, credentials_file: /c}", "credentials_env: give only one of"},
		{"env and secret", "{address: bmc1, credentials_env: N1, credentials_secret: {name: s}}", "credentials_env: give only one of"},
		{"secret without name", "{address: bmc1, credentials_secret: {user_key: u}}", "credentials_secret.name: required"},
		{"secret bad name", "{address: bmc1, credentials_secret: {name: Bmc_1}}", `credentials_secret.name: "Bmc_1" is not a Kubernetes object name`},
		{"secret bad namespace", "{address: bmc1, credentials_secret: {name: s, namespace: a.b}}", `credentials_secret.namespace: "a.b" is not a Kubernetes namespace name`},
		{"secret bad user key", "{address: bmc1, credentials_secret: {name: s, user_key: 'a/b'}}", `credentials_secret.user_key: "a/b" is not a Secret key`},
		{"secret bad password key", "{address: bmc1, credentials_secret: {name: s, password_key: 'p w'}}", `credentials_secret.password_key: "p w" is not a Secret key`},
		{"secret password", "{address: bmc1, credentials_secret: {name: s, password: x}}", `unknown field "password"`},
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
