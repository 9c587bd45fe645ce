package tftp

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkTransfer downloads the 1 MiB ipxe.efi fixture over loopback;
// the MB/s column is the transfer rate.
func BenchmarkTransfer(b *testing.B) {
	ts := startServer(b, Config{}, nil, slog.LevelWarn)
	want := fx.files["ipxe.efi"]
	for _, bc := range []struct{ blksize, window int }{
		{512, 1}, {1468, 1}, {1468, 4}, {1468, 16}, {1468, 64},
	} {
		name := "blksize=" + strconv.Itoa(bc.blksize) + "/window=" + strconv.Itoa(bc.window)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			for b.Loop() {
				c := newRawClient(b, ts.addr)
				c.rrq("ipxe.efi", "octet", "blksize", strconv.Itoa(bc.blksize), "windowsize", strconv.Itoa(bc.window))
				c.recv() // OACK
				if got := c.windowDownload(bc.blksize, bc.window); !bytes.Equal(got, want) {
					b.Fatalf("got %d bytes, want %d", len(got), len(want))
				}
			}
		})
	}
	b.Run("pin-tftp/blksize=1468", func(b *testing.B) {
		b.SetBytes(int64(len(want)))
		out := filepath.Join(b.TempDir(), "out")
		for b.Loop() {
			if _, err := pinOptions.get(context.Background(), ts.addr.Port(), "ipxe.efi", out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
