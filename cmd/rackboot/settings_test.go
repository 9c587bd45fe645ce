package main

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

func TestParseSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rackboot.yaml")
	writeFile(t, file, `
interface: from-file
mode: authoritative
lease-time: 10m
dns: [192.0.2.53, 192.0.2.54]
http-addr: ":9000"
loader-x64-efi: snponly.efi
`)
	env := map[string]string{
		"RACKBOOT_CONFIG":     file,
		"RACKBOOT_INTERFACE":  "from-env",
		"RACKBOOT_LEASE_TIME": "20m",
	}
	var s serveSettings
	fs := newServeFlags(&s)
	if err := parseSettings(fs, []string{"--lease-time=30m"}, mapEnv(env)); err != nil {
		t.Fatalf("parseSettings: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"interface (env beats file)", s.Interface, "from-env"},
		{"mode (file beats default)", s.Mode, "authoritative"},
		{"lease-time (flag beats env)", s.LeaseTime.String(), (30 * time.Minute).String()},
		{"dns (list from file)", s.DNS.String(), "192.0.2.53,192.0.2.54"},
		{"http-addr", s.HTTPAddr, ":9000"},
		{"loader-x64-efi", *s.Loaders[inventory.ArchX64EFI], "snponly.efi"},
		{"loader-bios (default)", *s.Loaders[inventory.ArchBIOS], "undionly.kpxe"},
		{"tftp-addr (default)", s.TFTPAddr, ":69"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestParseSettingsErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		file string
		args []string
		env  map[string]string
		want string
	}{
		{name: "bad flag value", args: []string{"--lease-time=soon"}, want: "lease-time"},
		{name: "bad env value", env: map[string]string{"RACKBOOT_SERVER_IP": "10.0.0.300"},
			want: "setting server-ip from RACKBOOT_SERVER_IP"},
		{name: "duration without unit", env: map[string]string{"RACKBOOT_LEASE_TIME": "2"},
			want: `RACKBOOT_LEASE_TIME: "2" is not a duration such as 90s`},
		{name: "unknown file key", file: "interfce: eth0\n", want: "interfce: unknown setting"},
		{name: "bad file value", file: "subnet: 10.0.0.0/33\n", want: "subnet"},
		{name: "map value", file: "mode: {a: b}\n", want: "mode: value of type"},
		{name: "duplicate key", file: "mode: proxy\nmode: authoritative\n", want: `"mode" already set`},
		{name: "stray argument", args: []string{"eth0"}, want: `unexpected argument "eth0"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			args := tc.args
			if tc.file != "" {
				path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
				writeFile(t, path, tc.file)
				args = append(args, "--config", path)
			}
			var s serveSettings
			fs := newServeFlags(&s)
			fs.SetOutput(new(strings.Builder))
			err := parseSettings(fs, args, mapEnv(env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseSettings(%v) = %v, want an error containing %q", args, err, tc.want)
			}
		})
	}
}

func TestResolveDerivesServerIPAndURL(t *testing.T) {
	s := serveSettings{Interface: "lo", Mode: "proxy", HTTPAddr: ":8080", BMCTimeout: time.Minute, BMCMaxConcurrent: 8}
	if err := s.resolve(loopbackIface); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if want := netip.MustParseAddr("127.0.0.1"); s.ServerIP != want {
		t.Errorf("ServerIP = %v, want %v", s.ServerIP, want)
	}
	if want := "http://127.0.0.1:8080"; s.HTTPURL != want {
		t.Errorf("HTTPURL = %q, want %q", s.HTTPURL, want)
	}
}

func TestResolveRejects(t *testing.T) {
	tests := []struct {
		name string
		s    serveSettings
		want string
	}{
		{"no interface", serveSettings{Mode: "proxy"}, "interface: required"},
		{"bad mode", serveSettings{Interface: "lo", Mode: "rogue"}, `mode: "rogue"`},
		{"ipv6 server", serveSettings{Interface: "lo", Mode: "proxy", ServerIP: netip.MustParseAddr("::1"),
			BMCTimeout: time.Second, BMCMaxConcurrent: 1}, "server-ip"},
		{"port zero", serveSettings{Interface: "lo", Mode: "proxy", HTTPAddr: ":0",
			BMCTimeout: time.Second, BMCMaxConcurrent: 1}, "http-addr"},
		{"bmc timeout zero", serveSettings{Interface: "lo", Mode: "proxy", BMCMaxConcurrent: 1}, "bmc-timeout: 0s is not a positive"},
		{"bmc concurrency zero", serveSettings{Interface: "lo", Mode: "proxy", BMCTimeout: time.Second}, "bmc-max-concurrent: 0 must be at least 1"},
		{"no such interface", serveSettings{Interface: "nope0", Mode: "proxy"}, "interface: nope0: no such network interface"},
		{"authoritative without subnet", serveSettings{Interface: "lo", Mode: "authoritative"}, "subnet: required in authoritative mode"},
		{"authoritative without pool end", serveSettings{Interface: "lo", Mode: "authoritative",
			Subnet: netip.MustParsePrefix("10.0.0.0/24"), PoolStart: netip.MustParseAddr("10.0.0.10")}, "pool-end: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.resolve(loopbackIface)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("resolve() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// loopbackIface finds the loopback interface as "lo" and nothing else.
func loopbackIface(name string) (*net.Interface, error) {
	if name != "lo" {
		return nil, errors.New("no such network interface")
	}
	return net.InterfaceByName("lo")
}
