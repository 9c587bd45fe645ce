package lab

import (
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/inventory"
)

// TestLabInventory checks that testdata/lab/inventory.yaml is valid,
// declares every lab guest under its MAC and sends the tiny OS's callback
// to the lab's server address.
func TestLabInventory(t *testing.T) {
	c, err := inventory.LoadCatalog("../testdata/lab/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []guest{uefiPXEGuest, biosIPXEGuest, uefiProxyGuest, uefiHTTPGuest, biosIgnitionGuest} {
		m, ok := c.Machine(g.mac)
		if !ok {
			t.Errorf("Machine(%s) not found, want %s", g.mac, g.name)
			continue
		}
		if m.Name != g.name {
			t.Errorf("Machine(%s).Name = %s, want %s", g.mac, m.Name, g.name)
		}
	}
	for _, name := range []string{"tiny", "tiny-ignition"} {
		p, ok := c.Profile(name)
		if !ok {
			t.Fatalf("Profile(%q) not found", name)
		}
		if url := "rackboot.url=http://" + serverIP + ":8080"; !strings.Contains(p.Args, url) {
			t.Errorf("Profile(%q).Args = %q, want it to contain %q", name, p.Args, url)
		}
	}
	if m, _ := c.Machine(biosIgnitionGuest.mac); m.Profile != "tiny-ignition" {
		t.Errorf("Machine(%s).Profile = %q, want tiny-ignition", biosIgnitionGuest.mac, m.Profile)
	}
	if err := c.VerifyIgnitionAssets(os.DirFS("../testdata/lab/assets")); err != nil {
		t.Errorf("testdata/lab/assets do not match the Ignition profile: %v", err)
	}
}

// TestLabConfig checks that testdata/lab/config.yaml puts rackboot on the
// lab's bridge and address.
func TestLabConfig(t *testing.T) {
	b, err := os.ReadFile("../testdata/lab/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"interface": bridgeName,
		"server-ip": serverIP,
		"http-addr": ":8080",
		"router":    serverIP,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("config.yaml %s = %v, want %s", k, got[k], v)
		}
	}
	for _, k := range authoritativeKeys {
		if _, ok := got[k]; !ok && k != "dns" {
			t.Errorf("config.yaml lacks %s", k)
		}
	}
}
