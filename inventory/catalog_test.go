package inventory

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const goodInventory = `
profiles:
  - name: tiny
    kernel: tiny/vmlinuz
    initrds: [tiny/initrd.gz]
    args: console=ttyS0
machines:
  - name: node1
    macs: ["02-00-00-00-00-01", "02:00:00:00:00:0A"]
    profile: tiny
    address: 192.0.2.50
    arch: x64-efi
    labels: {rack: r1}
`

func TestParseCatalog(t *testing.T) {
	c, err := ParseCatalog([]byte(goodInventory))
	if err != nil {
		t.Fatalf("ParseCatalog: %v", err)
	}
	for _, mac := range []string{"02:00:00:00:00:01", "02:00:00:00:00:0a"} {
		m, ok := c.Machine(mac)
		if !ok || m.Name != "node1" {
			t.Errorf("Machine(%q) = %q, %v, want node1, true", mac, m.Name, ok)
		}
	}
	m, _ := c.Machine("02:00:00:00:00:01")
	want := []string{"02:00:00:00:00:01", "02:00:00:00:00:0a"}
	if diff := cmp.Diff(want, m.MACs); diff != "" {
		t.Errorf("MACs not canonical (-want +got):\n%s", diff)
	}
	if m.Address.String() != "192.0.2.50" || m.Arch != ArchX64EFI || m.Labels["rack"] != "r1" {
		t.Errorf("machine = %+v, want address 192.0.2.50, arch x64-efi, label rack=r1", m)
	}
	if _, ok := c.Machine("02:00:00:00:00:02"); ok {
		t.Error("Machine(unknown) found a machine")
	}
}

func TestParseCatalogErrors(t *testing.T) {
	profile := "profiles:\n  - {name: tiny, kernel: k}\n"
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", "profiles:\n  - {name: tiny, kernal: k}\n", `unknown field "kernal"`},
		{"missing kernel", "profiles:\n  - {name: tiny}\n", "profiles[0] (tiny): kernel: required"},
		{"escaping asset", "profiles:\n  - {name: tiny, kernel: ../k}\n", `asset "../k"`},
		{"absolute asset", "profiles:\n  - {name: tiny, kernel: /k}\n", `asset "/k"`},
		{"initrd in args", "profiles:\n  - {name: tiny, kernel: k, args: initrd=x}\n", "args: leave initrd="},
		{"bad sum", "profiles:\n  - {name: tiny, kernel: k, sha256: {k: xyz}}\n", "sha256[k]"},
		{"sum of other file", "profiles:\n  - {name: tiny, kernel: k, sha256: {j: xyz}}\n", `sha256: "j"`},
		{"duplicate profile", profile + "  - {name: tiny, kernel: k}\n", "profiles[1] (tiny): name: defined twice"},
		{"undefined profile", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: big}\n",
			`machines[0] (a): profile: "big" is not defined`},
		{"no macs", profile + "machines:\n  - {name: a, profile: tiny}\n", "machines[0] (a): macs: at least one"},
		{"bad mac", profile + "machines:\n  - {name: a, macs: [zz], profile: tiny}\n", "machines[0] (a): macs[0]"},
		{"long mac", profile + "machines:\n  - {name: a, macs: ['00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01'], profile: tiny}\n",
			"not a 6-byte"},
		{"shared mac", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny}\n" +
			"  - {name: b, macs: [02:00:00:00:00:01], profile: tiny}\n", "already belongs to a"},
		{"bad name", profile + "machines:\n  - {name: Node_1, macs: [02:00:00:00:00:01], profile: tiny}\n", "name:"},
		{"ipv6 address", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny, address: '2001:db8::1'}\n",
			"not an IPv4"},
		{"shared address", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny, address: 192.0.2.9}\n" +
			"  - {name: b, macs: [02:00:00:00:00:02], profile: tiny, address: 192.0.2.9}\n", "already reserved for a"},
		{"bad arch", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny, arch: sparc}\n", `arch: "sparc"`},
		{"not yaml", "profiles: [", "parsing yaml"},
		{"multicast mac", profile + "machines:\n  - {name: a, macs: [01:00:5e:00:00:01], profile: tiny}\n",
			"machines[0] (a): macs[0]: 01:00:5e:00:00:01 is a multicast, broadcast or all-zero address"},
		{"broadcast mac", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01, ff:ff:ff:ff:ff:ff], profile: tiny}\n",
			"machines[0] (a): macs[1]: ff:ff:ff:ff:ff:ff is a multicast"},
		{"all-zero mac", profile + "machines:\n  - {name: a, macs: [00-00-00-00-00-00], profile: tiny}\n",
			"machines[0] (a): macs[0]: 00:00:00:00:00:00 is a multicast"},
		{"mac twice", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01, 02-00-00-00-00-01], profile: tiny}\n",
			"machines[0] (a): macs[1]: 02:00:00:00:00:01 is listed twice"},
		{"name of a mac, hyphens", profile + "machines:\n  - {name: 52-54-00-12-34-01, macs: [02:00:00:00:00:01], profile: tiny}\n",
			`machines[0] (52-54-00-12-34-01): name: "52-54-00-12-34-01" looks like a MAC address; names must not`},
		{"name of a mac, digits", profile + "machines:\n  - {name: '525400123401', macs: [02:00:00:00:00:01], profile: tiny}\n",
			`name: "525400123401" looks like a MAC address`},
		{"name of a mac, colons", profile + "machines:\n  - {name: '52:54:00:12:34:01', macs: [02:00:00:00:00:01], profile: tiny}\n",
			`name: "52:54:00:12:34:01" looks like a MAC address`},
		{"name of a mac, dots", profile + "machines:\n  - {name: 5254.0012.3401, macs: [02:00:00:00:00:01], profile: tiny}\n",
			`name: "5254.0012.3401" looks like a MAC address`},
		{"long name", profile + "machines:\n  - {name: " + strings.Repeat("n", 64) + ", macs: [02:00:00:00:00:01], profile: tiny}\n",
			"name: 64 characters, at most 63"},

		// Decoding errors name the entry and the field in YAML's terms.
		{"misspelt machine field", profile + "machines:\n  - {name: node1, macs: [02:00:00:00:00:01], profle: tiny}\n",
			`machines[0] (node1): unknown field "profle"`},
		{"misspelt profile field", "profiles:\n  - {name: tiny, kernel: k}\n  - {name: big, kernal: k}\n",
			`profiles[1] (big): unknown field "kernal"`},
		{"number label", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny, labels: {rack: 7}}\n",
			"machines[0] (a): labels.rack: must be a string (quote it)"},
		{"boolean label", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny, labels: {spare: yes}}\n",
			"machines[0] (a): labels.spare: must be a string (quote it)"},
		{"bad address", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny}\n" +
			"  - {name: b, macs: [02:00:00:00:00:02], profile: tiny}\n" +
			"  - {name: node3, macs: [02:00:00:00:00:03], profile: tiny, address: 10.99.0.999}\n",
			`machines[2] (node3): address: "10.99.0.999" is not an IPv4 address`},
		{"number address", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny, address: 10}\n",
			"machines[0] (a): address: must be a string"},
		{"string port", profile + "machines:\n  - {name: a, macs: [02:00:00:00:00:01], profile: tiny, bmc: {address: h, port: http}}\n",
			"machines[0] (a): bmc.port: must be a whole number"},
		{"macs not a list", profile + "machines:\n  - {name: a, macs: 02:00:00:00:00:01, profile: tiny}\n",
			"machines[0] (a): macs: must be a list"},
		{"all-digit mac", profile + "machines:\n  - {name: a, macs: [020000000001], profile: tiny}\n",
			"machines[0] (a): macs: must be a string (quote it)"},
		{"entry not a mapping", profile + "machines:\n  - node1\n", "machines[0]: must be a mapping"},
		{"machines not a list", profile + "machines: {name: a}\n", "machines: must be a list"},
		{"unknown top-level key", profile + "machnes: []\n", `unknown top-level key "machnes"`},
		{"document is a list", "- a\n", "must be a mapping with profiles and machines"},
		{"all-digit sha256", "profiles:\n  - name: tiny\n    kernel: k\n    sha256:\n      k: " + strings.Repeat("1", 64) + "\n",
			"profiles[0] (tiny): sha256.k: must be a string: quote the sum"},
		{"all-digit sha512", "profiles:\n  - name: tiny\n    kernel: k\n    ignition:\n      kubelet:\n        asset: kubelet\n" +
			"        sha512: " + strings.Repeat("1", 128) + "\n",
			"profiles[0] (tiny): ignition.kubelet.sha512: must be a string: quote the sum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCatalog([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseCatalog() = %v, want an error containing %q", err, tc.want)
			}
			// The operator wrote YAML: no JSON or Go types in the message.
			for _, word := range []string{"json", "Go struct", "Go value", "ParseAddr", "[]string", "inventory."} {
				if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(word)) {
					t.Errorf("ParseCatalog() = %v, which mentions %q", err, word)
				}
			}
		})
	}
}

func TestLoadCatalogNamesTheFile(t *testing.T) {
	path := t.TempDir() + "/inv.yaml"
	if err := os.WriteFile(path, []byte("machines: [{name: a}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCatalog(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": machines[0] (a)") {
		t.Fatalf("LoadCatalog() = %v, want an error starting with the file and entry", err)
	}
}

func TestVerifyAssets(t *testing.T) {
	doc := `
profiles:
  - name: tiny
    kernel: k
    initrds: [i]
    sha256: {k: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824}
`
	c, err := ParseCatalog([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	good := fstest.MapFS{"k": {Data: []byte("hello")}, "i": {Data: []byte("x")}}
	if err := c.VerifyAssets(good); err != nil {
		t.Errorf("VerifyAssets(good) = %v", err)
	}
	corrupt := fstest.MapFS{"k": {Data: []byte("hellO")}, "i": {Data: []byte("x")}}
	if err := c.VerifyAssets(corrupt); err == nil || !strings.Contains(err.Error(), "asset k: sha256 is") {
		t.Errorf("VerifyAssets(corrupt) = %v, want a sha256 mismatch", err)
	}
	missing := fstest.MapFS{"k": {Data: []byte("hello")}}
	if err := c.VerifyAssets(missing); err == nil || !strings.Contains(err.Error(), "asset i") {
		t.Errorf("VerifyAssets(missing) = %v, want asset i missing", err)
	}
}

// TestVerifyAssetsThroughRoot checks, on a real directory opened through
// os.Root as rackboot does, that a link out of the directory and a folder
// are refused as assets.
func TestVerifyAssetsThroughRoot(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()+"/secret"
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, dir+"/evil"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir+"/folder", 0o700); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, kernel := range []string{"evil", "folder"} {
		c, err := ParseCatalog([]byte("profiles: [{name: p, kernel: " + kernel + "}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.VerifyAssets(root.FS()); err == nil || !strings.Contains(err.Error(), "asset "+kernel) {
			t.Errorf("VerifyAssets(kernel %s) = %v, want it refused", kernel, err)
		}
	}
}
