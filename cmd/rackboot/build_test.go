package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

// TestLoaderFiles lays out an ipxe dir the way Debian does (ipxe.efi a
// link to a file elsewhere) and checks which loaders are pinned, which
// architectures are switched off, and that the log says so.
func TestLoaderFiles(t *testing.T) {
	boot, ipxeDir, root := t.TempDir(), t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(boot, "ipxe.efi"), "efi")
	if err := os.Symlink(filepath.Join(boot, "ipxe.efi"), filepath.Join(ipxeDir, "ipxe.efi")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ipxeDir, "undionly.kpxe"), "bios")
	writeFile(t, filepath.Join(root, "ipxe-arm64.efi"), "arm")

	var s serveSettings
	fs := newServeFlags(&s)
	args := []string{"--ipxe-dir", ipxeDir, "--tftp-root", root}
	if err := parseSettings(fs, args, mapEnv(nil)); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	got := s.loaderFiles(slog.New(slog.NewTextHandler(&logs, nil)))
	want := map[string]string{
		"ipxe.efi":      filepath.Join(boot, "ipxe.efi"),
		"undionly.kpxe": filepath.Join(ipxeDir, "undionly.kpxe"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loaderFiles (-want +got):\n%s", diff)
	}
	loaders := s.dhcpConfig().Loaders
	for arch, file := range map[inventory.Arch]string{
		inventory.ArchX64EFI:    "ipxe.efi",
		inventory.ArchBIOS:      "undionly.kpxe",
		inventory.ArchARM64EFI:  "ipxe-arm64.efi", // in --tftp-root
		inventory.ArchIA32EFI:   "",               // nowhere: off
		inventory.ArchARM32EFI:  "",
		inventory.ArchX86HTTP:   "",
		inventory.ArchARM64HTTP: "ipxe-arm64.efi",
	} {
		if loaders[arch] != file {
			t.Errorf("dhcp loader for %s = %q, want %q", arch, loaders[arch], file)
		}
	}
	if !strings.Contains(logs.String(), "ia32-efi (ipxe-i386.efi)") {
		t.Errorf("log does not name the architectures switched off:\n%s", logs.String())
	}
}

// dhcp's errors about the one pool the settings make name the settings.
func TestPoolErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--pool-start", "10.0.0.250", "--pool-end", "10.0.0.10"},
			"dhcp: pool-end: 10.0.0.10 comes before start 10.0.0.250"},
		{[]string{"--pool-start", "10.0.0.5", "--pool-end", "10.0.0.10", "--router", "10.1.0.1"},
			"dhcp: router: 10.1.0.1 is outside 10.0.0.0/24"},
		{[]string{"--pool-start", "10.0.1.5", "--pool-end", "10.0.0.10"},
			"dhcp: pool-start: 10.0.1.5 is not a host address of 10.0.0.0/24"},
	}
	for _, tt := range tests {
		var s serveSettings
		args := append([]string{"--interface", "rb-test0", "--mode", "authoritative",
			"--subnet", "10.0.0.0/24", "--server-ip", "10.0.0.1", "--http-url", "http://10.0.0.1:8080",
			"--data-dir", t.TempDir(), "--assets-dir", t.TempDir(), "--tftp-root", t.TempDir()}, tt.args...)
		if err := newServeFlags(&s).Parse(args); err != nil {
			t.Fatal(err)
		}
		store, err := inventory.OpenStore(s.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		_, err = build(&s, inventory.New(nil, store), nil, slog.New(slog.DiscardHandler))
		store.Close()
		if err == nil || err.Error() != tt.want {
			t.Errorf("build(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}
