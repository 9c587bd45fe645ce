package tftp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	pintftp "github.com/pin/tftp/v3"
)

// realClient fetches file from the server at port into out with a real
// TFTP client.
type realClient struct {
	name string
	tool string // executable that must be installed; "" for pin/tftp
	get  func(ctx context.Context, port uint16, file, out string) ([]byte, error)
}

// command returns a get function running a command built by args.
func command(args func(port, file, out string) []string) func(context.Context, uint16, string, string) ([]byte, error) {
	return func(ctx context.Context, port uint16, file, out string) ([]byte, error) {
		a := args(strconv.Itoa(int(port)), file, out)
		return exec.CommandContext(ctx, a[0], a[1:]...).CombinedOutput()
	}
}

// pinGet downloads with github.com/pin/tftp/v3; blksize 0 sends no
// options.
func pinGet(blksize int, tsize bool) func(context.Context, uint16, string, string) ([]byte, error) {
	return func(_ context.Context, port uint16, file, out string) ([]byte, error) {
		c, err := pintftp.NewClient(fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return nil, err
		}
		if blksize > 0 {
			c.SetBlockSize(blksize)
		}
		c.RequestTSize(tsize)
		wt, err := c.Receive(file, "octet")
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return nil, err
		}
		return nil, os.WriteFile(out, buf.Bytes(), 0o644)
	}
}

var (
	tftpHPA = realClient{"tftp-hpa", "tftp", command(func(port, file, out string) []string {
		return []string{"tftp", "-v", "127.0.0.1", port, "-m", "binary", "-c", "get", file, out}
	})}
	tftpHPAASCII = realClient{"tftp-hpa netascii", "tftp", command(func(port, file, out string) []string {
		return []string{"tftp", "-v", "127.0.0.1", port, "-m", "ascii", "-c", "get", file, out}
	})}
	curl = realClient{"curl", "curl", command(func(port, file, out string) []string {
		return []string{"curl", "-sS", "-o", out, "tftp://127.0.0.1:" + port + "/" + file}
	})}
	curlBlksize = realClient{"curl blksize 1468", "curl", command(func(port, file, out string) []string {
		return []string{"curl", "-sS", "--tftp-blksize", "1468", "-o", out, "tftp://127.0.0.1:" + port + "/" + file}
	})}
	busybox = realClient{"busybox", "busybox", command(func(port, file, out string) []string {
		return []string{"busybox", "tftp", "-g", "-r", file, "-l", out, "127.0.0.1", port}
	})}
	busyboxBlksize = realClient{"busybox blksize 1468", "busybox", command(func(port, file, out string) []string {
		return []string{"busybox", "tftp", "-g", "-b", "1468", "-r", file, "-l", out, "127.0.0.1", port}
	})}
	pinPlain   = realClient{"pin/tftp", "", pinGet(0, false)}
	pinOptions = realClient{"pin/tftp blksize tsize", "", pinGet(1468, true)}
)

// TestRealClients downloads files with the TFTP clients Debian ships and
// with pin/tftp, and compares the bytes.
func TestRealClients(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelInfo)
	tests := []struct {
		client realClient
		file   string
		want   []byte
	}{
		{tftpHPA, "ipxe.efi", fx.files["ipxe.efi"]},
		{tftpHPA, "exact.bin", fx.files["exact.bin"]},
		{tftpHPA, "empty.bin", fx.files["empty.bin"]},
		{tftpHPA, "boot/x64/wdsnbp.com", fx.files["boot/x64/wdsnbp.com"]},
		{tftpHPAASCII, "text.txt", fx.files["text.txt"]},
		{curl, "ipxe.efi", fx.files["ipxe.efi"]},
		{curlBlksize, "ipxe.efi", fx.files["ipxe.efi"]},
		{curl, "undionly.kpxe", []byte("undionly from the ipxe root")},
		{busybox, "ipxe.efi", fx.files["ipxe.efi"]},
		{busyboxBlksize, "ipxe.efi", fx.files["ipxe.efi"]},
		{pinPlain, "ipxe.efi", fx.files["ipxe.efi"]},
		{pinOptions, "ipxe.efi", fx.files["ipxe.efi"]},
		{pinOptions, "exact.bin", fx.files["exact.bin"]},
		{tftpHPA, "big.bin", fx.files["big.bin"]},
		{pinPlain, "big.bin", fx.files["big.bin"]},
		{curl, "big.bin", fx.files["big.bin"]},
	}
	for _, tt := range tests {
		t.Run(tt.client.name+" "+tt.file, func(t *testing.T) {
			if testing.Short() && tt.file == "big.bin" {
				t.Skip("33 MB transfer skipped in -short mode")
			}
			got := fetch(t, ts, tt.client, tt.file)
			if sum(got) != sum(tt.want) {
				t.Errorf("%s get %s: %d bytes, sha256 %s, want %d bytes, %s",
					tt.client.name, tt.file, len(got), sum(got), len(tt.want), sum(tt.want))
			}
		})
	}
}

// fetch downloads file with c and returns its bytes.
func fetch(t *testing.T, ts *testServer, c realClient, file string) []byte {
	t.Helper()
	if c.tool != "" {
		if _, err := exec.LookPath(c.tool); err != nil {
			t.Skipf("%s not installed (apt-get install tftp-hpa curl busybox-static)", c.tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "out")
	if msg, err := c.get(ctx, ts.addr.Port(), file, out); err != nil {
		t.Fatalf("%s get %s: %v\n%s", c.name, file, err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%s get %s: %v", c.name, file, err)
	}
	return got
}

// TestRealClientErrors checks that real clients report a missing file and
// an escaping path as failures.
func TestRealClientErrors(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelInfo)
	for _, c := range []realClient{curl, busybox, pinPlain} {
		for _, file := range []string{"nothing.efi", "../root-secret/passwd"} {
			t.Run(c.name+" "+file, func(t *testing.T) {
				if c.tool != "" {
					if _, err := exec.LookPath(c.tool); err != nil {
						t.Skipf("%s not installed", c.tool)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				out := filepath.Join(t.TempDir(), "out")
				if msg, err := c.get(ctx, ts.addr.Port(), file, out); err == nil {
					t.Errorf("%s get %s succeeded, want an error\n%s", c.name, file, msg)
				}
			})
		}
	}
}
