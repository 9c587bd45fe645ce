package tftp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// rawClient is a TFTP client for tests that deals in single packets, so
// that tests can assert exactly what the server sends.
type rawClient struct {
	t      testing.TB
	conn   *net.UDPConn
	server netip.AddrPort // the request port
	peer   netip.AddrPort // the transfer port, from the first reply
	buf    []byte
}

// newRawClient returns a client of the server at server on a fresh
// 127.0.0.1 socket, closed when the test ends.
func newRawClient(t testing.TB, server netip.AddrPort) *rawClient {
	t.Helper()
	local := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	if server.Addr().Is6() {
		local.IP = net.IPv6loopback
	}
	conn, err := net.ListenUDP("udp", local)
	if err != nil {
		t.Fatalf("client socket: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, server: server, buf: make([]byte, 70000)}
}

// encodeRequest builds an RRQ or WRQ; opts are name, value, name, value...
func encodeRequest(op opcode, name, mode string, opts ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(op))
	for _, s := range append([]string{name, mode}, opts...) {
		b = append(append(b, s...), 0)
	}
	return b
}

// encodeAck builds an ACK (RFC 1350 section 5).
func encodeAck(block uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, uint16(opACK)), block)
}

// rrq sends a read request to the request port.
func (c *rawClient) rrq(name, mode string, opts ...string) {
	c.sendTo(c.server, encodeRequest(opRRQ, name, mode, opts...))
}

// ack acknowledges block to the transfer port.
func (c *rawClient) ack(block uint16) { c.sendTo(c.peer, encodeAck(block)) }

// sendError sends an ERROR to the transfer port.
func (c *rawClient) sendError(code errorCode, msg string) {
	c.sendTo(c.peer, appendError(nil, code, msg))
}

// sendTo sends b to to.
func (c *rawClient) sendTo(to netip.AddrPort, b []byte) {
	c.t.Helper()
	if _, err := c.conn.WriteToUDPAddrPort(b, to); err != nil {
		c.t.Fatalf("sending to %v: %v", to, err)
	}
}

// recv returns the next packet, failing the test after 5 s. The first
// packet's source becomes the transfer port.
func (c *rawClient) recv() []byte {
	c.t.Helper()
	b, ok := c.tryRecv(5 * time.Second)
	if !ok {
		c.t.Fatal("no packet from the server within 5s")
	}
	return b
}

// tryRecv returns the next packet, or false when none comes within d.
func (c *rawClient) tryRecv(d time.Duration) ([]byte, bool) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(d))
	n, from, err := c.conn.ReadFromUDPAddrPort(c.buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, false
	}
	if err != nil {
		c.t.Fatalf("receiving: %v", err)
	}
	if !c.peer.IsValid() {
		c.peer = from
	} else if from != c.peer {
		c.t.Fatalf("packet from %v, want transfer port %v", from, c.peer)
	}
	return append([]byte(nil), c.buf[:n]...), true
}

// expectOnly fails the test if a packet other than allowed arrives
// within d: after a transfer ended, packets sent before the end may still
// be on their way, but nothing else.
func (c *rawClient) expectOnly(allowed string, d time.Duration) {
	c.t.Helper()
	for {
		b, ok := c.tryRecv(d)
		if !ok {
			return
		}
		if got := describe(b); got != allowed {
			c.t.Fatalf("got %s, want nothing but %s", got, allowed)
		}
	}
}

// expectSilence fails the test if any packet arrives within d.
func (c *rawClient) expectSilence(d time.Duration) {
	c.t.Helper()
	if b, ok := c.tryRecv(d); ok {
		c.t.Fatalf("got %s, want silence", describe(b))
	}
}

// download acknowledges DATA packets in lock-step, starting from first
// (already received), and returns the file and the wire block numbers.
// Like a real client it skips what the server sent again because an ACK
// was late: the OACK, or the block just acknowledged.
func (c *rawClient) download(first []byte, blksize int) ([]byte, []uint16) {
	c.t.Helper()
	var data []byte
	var blocks []uint16
	for p := first; ; p = c.recv() {
		if opcodeOf(p) == opOACK && blocks == nil {
			continue
		}
		if opcodeOf(p) != opDATA {
			c.t.Fatalf("got %s, want DATA", describe(p))
		}
		block := binary.BigEndian.Uint16(p[2:])
		if len(blocks) > 0 && block == blocks[len(blocks)-1] {
			continue
		}
		data = append(data, p[4:]...)
		blocks = append(blocks, block)
		c.ack(block)
		if len(p)-4 < blksize {
			return data, blocks
		}
	}
}

// describe renders a packet for assertions: "DATA 1 (512 bytes)",
// "OACK tsize=10 blksize=1468", `ERROR 2 "access violation"`.
func describe(b []byte) string {
	switch opcodeOf(b) {
	case opDATA:
		return fmt.Sprintf("DATA %d (%d bytes)", binary.BigEndian.Uint16(b[2:]), len(b)-4)
	case opACK:
		return fmt.Sprintf("ACK %d", binary.BigEndian.Uint16(b[2:]))
	case opERROR:
		code, msg, _ := parseError(b)
		return fmt.Sprintf("ERROR %d %q", code, msg)
	case opOACK:
		f := strings.Split(strings.TrimSuffix(string(b[2:]), "\x00"), "\x00")
		var sb strings.Builder
		sb.WriteString("OACK")
		for i := 0; i+1 < len(f); i += 2 {
			fmt.Fprintf(&sb, " %s=%s", f[i], f[i+1])
		}
		return sb.String()
	}
	return fmt.Sprintf("packet %x", b)
}
