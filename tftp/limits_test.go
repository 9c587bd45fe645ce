package tftp

import (
	"encoding/json"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newRawClientFrom is newRawClient on a socket of the loopback address
// from, so that a test can play several hosts.
func newRawClientFrom(t testing.TB, from string, server *testServer) *rawClient {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		t.Skipf("no loopback address %s: %v", from, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, server: server.addr, buf: make([]byte, 70000)}
}

// TestMaxPerClient checks that one host cannot take every transfer slot:
// beyond MaxPerClient its requests get ERROR 0, others still get served,
// and the log says so once.
func TestMaxPerClient(t *testing.T) {
	ts := startServer(t, Config{MaxPerClient: 2, Timeout: 10 * time.Second}, nil, slog.LevelInfo)
	for range 2 {
		c := newRawClient(t, ts.addr)
		c.rrq("small.bin", "octet")
		if got, want := describe(c.recv()), "DATA 1 (512 bytes)"; got != want {
			t.Fatalf("request within the limit: got %s, want %s", got, want)
		}
		defer c.sendError(errUndefined, "test done")
	}
	for range 2 {
		c := newRawClient(t, ts.addr)
		c.rrq("small.bin", "octet")
		if got, want := describe(c.recv()), `ERROR 0 "too many transfers from this address"`; got != want {
			t.Errorf("request beyond the limit: got %s, want %s", got, want)
		}
	}
	other := newRawClientFrom(t, "127.0.0.2", ts)
	other.rrq("small.bin", "octet")
	if got, want := describe(other.recv()), "DATA 1 (512 bytes)"; got != want {
		t.Errorf("request from another host: got %s, want %s", got, want)
	}
	other.sendError(errUndefined, "test done")

	if st := ts.Stats(); st.ClientBusy != 2 || st.Busy != 0 {
		t.Errorf("Stats() = %+v, want ClientBusy 2, Busy 0", st)
	}
	const warn = `level=WARN msg="tftp per-client transfer limit reached; turning requests away" ip=127.0.0.1`
	if n := strings.Count(ts.logs.String(), warn); n != 1 {
		t.Errorf("log has %d lines %q, want 1:\n%s", n, warn, ts.logs)
	}
}

func TestMaxPerClientDefault(t *testing.T) {
	srv, err := NewServer(Config{Roots: []string{fx.root}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.cfg.MaxPerClient; got != 8 {
		t.Errorf("MaxPerClient by default = %d, want %d", got, 8)
	}
	if _, err := NewServer(Config{Roots: []string{fx.root}, MaxPerClient: -1}, nil, nil); err == nil {
		t.Error("NewServer(MaxPerClient -1) = nil error, want one")
	}
}

// logKeys are the attribute keys the server may log: the fixed vocabulary,
// the listening address, and protocol detail at Debug.
var logKeys = map[string]bool{
	"time": true, "level": true, "msg": true,
	"ip": true, "file": true, "path": true, "bytes": true, "err": true, "iface": true, "remote": true,
	"addr": true, "suppressed": true,
	"mode": true, "options": true, "block": true, "retry": true,
}

// constantMsg matches messages without data in them: no numbers, no
// addresses, no key=value.
var constantMsg = regexp.MustCompile(`^tftp [a-zA-Z ,;:'-]+$`)

// TestLogLines runs transfers at Debug and checks what the log says:
// constant messages, known keys, a few progress lines per transfer rather
// than one per block, and one Warn for repeated access violations.
func TestLogLines(t *testing.T) {
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := startServerLog(t, Config{Timeout: 50 * time.Millisecond}, nil, log, logs)

	big := newRawClient(t, ts.addr) // 2,048 blocks and an empty one
	big.rrq("ipxe.efi", "octet")
	if got, _ := big.download(big.recv(), 512); len(got) != ipxeSize {
		t.Fatalf("download of ipxe.efi: %d bytes, want %d", len(got), ipxeSize)
	}
	opts := newRawClient(t, ts.addr)
	opts.rrq("small.bin", "octet", "blksize", "1468", "tsize", "0")
	opts.recv()
	opts.ack(0)
	opts.download(opts.recv(), 1468)
	slow := newRawClient(t, ts.addr) // one timeout, then gone
	slow.rrq("small.bin", "octet")
	slow.recv()
	slow.recv()
	slow.sendError(errUndefined, "test done")
	for _, p := range []string{"../etc/passwd", `..\..\etc\passwd`} {
		c := newRawClient(t, ts.addr)
		c.rrq(p, "octet")
		c.recv()
	}
	ts.waitStats(t, func(s Stats) bool { return s.Served == 2 && s.Errors == 1 && s.Refused == 2 })
	if !ts.waitLog(`"tftp transfer failed"`) {
		t.Fatal("no line for the failed transfer")
	}
	// The refusal is counted before it is logged.
	if !ts.waitLog(`"level":"DEBUG","msg":"tftp request refused: access violation"`) {
		t.Fatal("no Debug line for the repeated access violation")
	}

	counts := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		counts[rec["level"].(string)+" "+msg]++
		if !constantMsg.MatchString(msg) {
			t.Errorf("message %q carries data; put it in attributes", msg)
		}
		for k := range rec {
			if !logKeys[k] {
				t.Errorf("line %q: key %q is not in the vocabulary", msg, k)
			}
		}
	}
	// ipxe.efi: blocks 1, 1025 and 2049; small.bin: one each.
	if n := counts["DEBUG tftp sending data"]; n < 3 || n > 6 {
		t.Errorf("%d progress lines for 2,052 blocks, want a few, not one per block", n)
	}
	if n := counts["WARN tftp request refused: access violation"]; n != 1 {
		t.Errorf("%d Warn lines for two access violations from one client, want 1", n)
	}
	if n := counts["DEBUG tftp request refused: access violation"]; n != 1 {
		t.Errorf("%d Debug lines for the repeated access violation, want 1", n)
	}
	if counts["INFO tftp listening"] != 1 || counts["DEBUG tftp timeout, sending again"] == 0 {
		t.Errorf("log lacks the listening or timeout line: %v", counts)
	}
}
