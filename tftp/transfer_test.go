package tftp

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDownloads fetches files of edge sizes in lock-step and checks bytes
// and block numbers.
func TestDownloads(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelDebug)
	tests := []struct {
		file       string
		wantBlocks []uint16
	}{
		{"empty.bin", []uint16{1}},
		{"small.bin", []uint16{1, 2}},
		{"exact.bin", []uint16{1, 2, 3}}, // 1024 bytes: an empty block 3 ends it
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := newRawClient(t, ts.addr)
			c.rrq(tt.file, "octet")
			got, blocks := c.download(c.recv(), 512)
			if !bytes.Equal(got, fx.files[tt.file]) {
				t.Errorf("RRQ %s: got %d bytes, want %d", tt.file, len(got), len(fx.files[tt.file]))
			}
			if diff := cmp.Diff(tt.wantBlocks, blocks); diff != "" {
				t.Errorf("RRQ %s: blocks mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
	st := ts.waitStats(t, func(s Stats) bool { return s.Served == 3 })
	if st.Served != 3 || st.Requests != 3 {
		t.Errorf("Stats() = %+v, want Requests 3, Served 3", st)
	}
}

// TestRollover downloads a file of more than 65,535 blocks at blksize 512
// (FORMATS case 9): block 65535 is followed by 0, then 1, and ACK 0 there
// moves the transfer on.
func TestRollover(t *testing.T) {
	if testing.Short() {
		t.Skip("33 MB transfer skipped in -short mode")
	}
	ts := startServer(t, Config{}, nil, slog.LevelInfo)
	c := newRawClient(t, ts.addr)
	c.rrq("big.bin", "octet")
	got, blocks := c.download(c.recv(), 512)
	want := fx.files["big.bin"]
	if sum(got) != sum(want) {
		t.Fatalf("big.bin: got %d bytes, sha256 %s, want %d bytes, %s", len(got), sum(got), len(want), sum(want))
	}
	if len(blocks) != 65537 {
		t.Fatalf("big.bin: %d blocks, want 65537", len(blocks))
	}
	if diff := cmp.Diff([]uint16{65534, 65535, 0, 1}, blocks[65533:]); diff != "" {
		t.Errorf("blocks at the rollover mismatch (-want +got):\n%s", diff)
	}
	if !ts.waitLog(fmt.Sprintf("bytes=%d", len(want))) {
		t.Error("no Info log line for the completed transfer")
	}
}

// TestWindow checks RFC 7440: a window of blocks per ACK, and an ACK in
// the middle of a window resending from the block after it.
func TestWindow(t *testing.T) {
	ts := startServer(t, Config{Timeout: 10 * time.Second}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("ipxe.efi", "octet", "blksize", "512", "windowsize", "4")
	if got := describe(c.recv()); got != "OACK blksize=512 windowsize=4" {
		t.Fatalf("first packet = %s, want OACK blksize=512 windowsize=4", got)
	}
	steps := []struct {
		ack  uint16
		want []string
	}{
		{0, []string{"DATA 1 (512 bytes)", "DATA 2 (512 bytes)", "DATA 3 (512 bytes)", "DATA 4 (512 bytes)"}},
		{2, []string{"DATA 3 (512 bytes)", "DATA 4 (512 bytes)", "DATA 5 (512 bytes)", "DATA 6 (512 bytes)"}},
		{6, []string{"DATA 7 (512 bytes)", "DATA 8 (512 bytes)", "DATA 9 (512 bytes)", "DATA 10 (512 bytes)"}},
	}
	for _, s := range steps {
		c.ack(s.ack)
		var got []string
		for range s.want {
			got = append(got, describe(c.recv()))
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("after ACK %d (-want +got):\n%s", s.ack, diff)
		}
	}
	c.ack(5) // stale: already acknowledged, must not resend
	c.expectSilence(200 * time.Millisecond)
	c.sendError(errUndefined, "test done")
}

// TestWindowDownload fetches a whole file with windowsize 16, acknowledging
// the last block of each window.
func TestWindowDownload(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelInfo)
	c := newRawClient(t, ts.addr)
	c.rrq("ipxe.efi", "octet", "blksize", "1468", "windowsize", "16")
	if got := describe(c.recv()); got != "OACK blksize=1468 windowsize=16" {
		t.Fatalf("first packet = %s, want OACK blksize=1468 windowsize=16", got)
	}
	got := c.windowDownload(1468, 16)
	if want := fx.files["ipxe.efi"]; !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, sha256 %s, want %d bytes, %s", len(got), sum(got), len(want), sum(want))
	}
}

// windowDownload acknowledges ACK 0 and then every window's last block.
func (c *rawClient) windowDownload(blksize, window int) []byte {
	c.t.Helper()
	var data []byte
	c.ack(0)
	for i := 1; ; i++ {
		p := c.recv()
		if opcodeOf(p) != opDATA {
			c.t.Fatalf("got %s, want DATA", describe(p))
		}
		data = append(data, p[4:]...)
		last := len(p)-4 < blksize
		if last || i%window == 0 {
			c.ack(uint16(i))
		}
		if last {
			return data
		}
	}
}

// TestDuplicateAck checks that a duplicate ACK does not make the server
// send the next block twice (the Sorcerer's Apprentice bug).
func TestDuplicateAck(t *testing.T) {
	ts := startServer(t, Config{Timeout: 10 * time.Second}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("ipxe.efi", "octet")
	var got []string
	got = append(got, describe(c.recv()))
	c.ack(1)
	got = append(got, describe(c.recv()))
	c.ack(1) // duplicate
	c.ack(2)
	got = append(got, describe(c.recv()))
	want := []string{"DATA 1 (512 bytes)", "DATA 2 (512 bytes)", "DATA 3 (512 bytes)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packets mismatch (-want +got):\n%s", diff)
	}
	c.sendError(errUndefined, "test done")
}

// TestRetransmit checks that an unacknowledged block is sent again after
// the timeout, Retries times, and that the transfer then fails.
func TestRetransmit(t *testing.T) {
	ts := startServer(t, Config{Timeout: 50 * time.Millisecond, Retries: 2}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("small.bin", "octet")
	var got []string
	for range 3 {
		got = append(got, describe(c.recv()))
	}
	want := []string{"DATA 1 (512 bytes)", "DATA 1 (512 bytes)", "DATA 1 (512 bytes)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packets mismatch (-want +got):\n%s", diff)
	}
	c.expectSilence(300 * time.Millisecond)
	st := ts.waitStats(t, func(s Stats) bool { return s.Errors == 1 })
	if st.Errors != 1 || st.Served != 0 {
		t.Errorf("Stats() = %+v, want Errors 1, Served 0", st)
	}
	if !ts.waitLog(`msg="tftp transfer failed" ip=127.0.0.1 file=small.bin bytes=0 err="client stopped answering"`) {
		t.Error("no Info log line for the failed transfer")
	}
}

// TestOACKRetransmit checks that a lost OACK is sent again.
func TestOACKRetransmit(t *testing.T) {
	ts := startServer(t, Config{Timeout: 50 * time.Millisecond}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("small.bin", "octet", "blksize", "1000")
	first, second := describe(c.recv()), describe(c.recv())
	if first != "OACK blksize=1000" || second != first {
		t.Fatalf("packets = %s, %s, want OACK blksize=1000 twice", first, second)
	}
	c.ack(0)
	got, _ := c.download(c.recv(), 1000) // skips a third OACK, if any
	if !bytes.Equal(got, fx.files["small.bin"]) {
		t.Errorf("got %d bytes, want small.bin", len(got))
	}
}

// TestUnknownTID checks that a packet from another port gets ERROR 5 and
// leaves the transfer alone (RFC 1350 section 4).
func TestUnknownTID(t *testing.T) {
	ts := startServer(t, Config{Timeout: 10 * time.Second}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("small.bin", "octet")
	first := c.recv()

	intruder := newRawClient(t, ts.addr)
	intruder.sendTo(c.peer, encodeAck(1))
	if got, want := describe(intruder.recv()), `ERROR 5 "unknown transfer ID"`; got != want {
		t.Errorf("intruder got %s, want %s", got, want)
	}
	got, _ := c.download(first, 512)
	if !bytes.Equal(got, fx.files["small.bin"]) {
		t.Errorf("got %d bytes, want small.bin", len(got))
	}
}

// TestClientAbort checks that an ERROR from the client ends the transfer
// without another packet, counted as an error, not a probe.
func TestClientAbort(t *testing.T) {
	ts := startServer(t, Config{Timeout: 50 * time.Millisecond}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("ipxe.efi", "octet", "blksize", "1468")
	c.recv()
	c.sendError(errOptionRefused, "no thanks")
	st := ts.waitStats(t, func(s Stats) bool { return s.Errors == 1 })
	c.expectOnly("OACK blksize=1468", 300*time.Millisecond)
	if st.Errors != 1 || st.Probes != 0 {
		t.Errorf("Stats() = %+v, want Errors 1, Probes 0", st)
	}
}

// TestNetasciiTransfer checks the conversion: LF to CR LF, CR to CR NUL, and the
// tsize of the converted bytes.
func TestNetasciiTransfer(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelDebug)
	want := "line one\r\nline two\r\x00\r\nbare\r\x00cr\r\n\r\n"
	c := newRawClient(t, ts.addr)
	c.rrq("text.txt", "NetASCII", "tsize", "0")
	if got, w := describe(c.recv()), fmt.Sprintf("OACK tsize=%d", len(want)); got != w {
		t.Fatalf("first packet = %s, want %s", got, w)
	}
	c.ack(0)
	got, _ := c.download(c.recv(), 512)
	if string(got) != want {
		t.Errorf("netascii text.txt = %q, want %q", got, want)
	}
}

// TestBusy checks that requests beyond MaxTransfers get ERROR 0.
func TestBusy(t *testing.T) {
	ts := startServer(t, Config{MaxTransfers: 1, Timeout: 10 * time.Second}, nil, slog.LevelDebug)
	a := newRawClient(t, ts.addr)
	a.rrq("small.bin", "octet")
	a.recv() // the transfer runs, unacknowledged

	b := newRawClient(t, ts.addr)
	b.rrq("small.bin", "octet")
	if got, want := describe(b.recv()), `ERROR 0 "server busy"`; got != want {
		t.Errorf("second request: got %s, want %s", got, want)
	}
	if st := ts.Stats(); st.Busy != 1 {
		t.Errorf("Stats().Busy = %d, want 1", st.Busy)
	}
	if !ts.waitLog("tftp transfer limit reached") {
		t.Error("no log line for the busy server")
	}
	a.sendError(errUndefined, "test done")
	// The slot frees just after the transfer ends: ask until it has.
	got := `ERROR 0 "server busy"`
	for try := 0; try < 100 && got == `ERROR 0 "server busy"`; try++ {
		time.Sleep(10 * time.Millisecond)
		c := newRawClient(t, ts.addr)
		c.rrq("small.bin", "octet")
		got = describe(c.recv())
	}
	if want := "DATA 1 (512 bytes)"; got != want {
		t.Errorf("after the first transfer ended: got %s, want %s", got, want)
	}
}

// TestRetransmittedRequest checks that the same RRQ sent twice from the
// same port starts one transfer only.
func TestRetransmittedRequest(t *testing.T) {
	ts := startServer(t, Config{Timeout: 10 * time.Second}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("small.bin", "octet")
	c.rrq("small.bin", "octet")
	if got, want := describe(c.recv()), "DATA 1 (512 bytes)"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	c.expectSilence(200 * time.Millisecond) // a second transfer would send DATA 1
	if !ts.waitLog("already being served") {
		t.Error("no log line for the dropped retransmission")
	}
}
