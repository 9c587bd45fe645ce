package tftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"
)

// Errors that end a transfer.
var (
	errTimeout = errors.New("client stopped answering")
	errProbe   = errors.New("size probe: client ended the transfer after the OACK")
)

// clientError is an ERROR packet a client sent to end a transfer.
type clientError struct {
	code errorCode
	msg  string
}

func (e *clientError) Error() string {
	return fmt.Sprintf("client sent error %d %q", e.code, e.msg)
}

// replyBufSize holds any ACK and the useful start of any ERROR; longer
// datagrams are cut, which loses nothing a transfer needs.
const replyBufSize = 1024

// progressBlocks spaces the Debug lines of a transfer's progress: one per
// this many blocks, not one per block (a 32 MiB file is 65,537 blocks of
// 512 bytes).
const progressBlocks = 1024

// transfer sends one file to one client from its own socket, whose port is
// the server's transfer ID (RFC 1350 section 4). It is not safe for
// concurrent use.
type transfer struct {
	conn    *net.UDPConn
	peer    netip.AddrPort
	p       params
	win     *window
	retries int
	stats   *counters
	metrics *Metrics // nil counts nothing
	log     *slog.Logger
	debug   bool // whether log takes Debug records

	in, out []byte // receive and send buffers
	sent    int64  // file bytes acknowledged
	logAt   uint64 // block whose sending makes the next progress line
}

// newTransfer prepares a transfer of src to peer over conn with p.
func newTransfer(conn *net.UDPConn, peer netip.AddrPort, p params, src io.Reader,
	log *slog.Logger) *transfer {
	return &transfer{
		conn:    conn,
		peer:    peer,
		p:       p,
		win:     newWindow(src, p.blksize, p.window),
		retries: DefaultRetries,
		stats:   &counters{},
		log:     log,
		debug:   log.Enabled(context.Background(), slog.LevelDebug),
		in:      make([]byte, replyBufSize),
		out:     make([]byte, 0, 4+p.blksize),
		logAt:   1,
	}
}

// run sends the OACK when options were accepted (RFC 2347), then the file
// window by window, and returns nil once the last block is acknowledged.
// An ERROR in answer to an OACK that carried tsize is a size probe and
// yields errProbe; the transfer then ends without another packet.
func (t *transfer) run() error {
	if len(t.p.oack) > 0 {
		err := t.exchange(t.sendOACK, t.onOACKReply)
		var ce *clientError
		if t.p.tsize && errors.As(err, &ce) {
			return fmt.Errorf("%w (%w)", errProbe, err)
		}
		if err != nil {
			return err
		}
	}
	for {
		if err := t.win.fill(); err != nil {
			t.send(appendError(t.out[:0], errUndefined, "read error"))
			return fmt.Errorf("reading file: %w", err)
		}
		if t.win.finished() {
			return nil
		}
		if err := t.exchange(t.sendWindow, t.onDataReply); err != nil {
			return err
		}
	}
}

// exchange sends packets with send and reads replies until onReply
// reports progress. After each timeout it sends again, up to t.retries
// times (RFC 1350 section 2); only its own timer resends, never a
// duplicate reply.
func (t *transfer) exchange(send func() error, onReply func([]byte) (bool, error)) error {
	for try := 0; try <= t.retries; try++ {
		if try > 0 && t.debug {
			t.log.Debug("tftp timeout, sending again", "block", t.win.first, "retry", try)
		}
		if err := send(); err != nil {
			return err
		}
		done, err := t.await(onReply)
		if done || err != nil {
			return err
		}
	}
	return errTimeout
}

// await reads packets until onReply reports progress or fails, or the
// timeout passes (false, nil). Packets from another address or port get
// ERROR 5 and change nothing (RFC 1350 section 4).
func (t *transfer) await(onReply func([]byte) (bool, error)) (bool, error) {
	if err := t.conn.SetReadDeadline(time.Now().Add(t.p.timeout)); err != nil {
		return false, fmt.Errorf("setting deadline: %w", err)
	}
	for {
		n, from, err := t.conn.ReadFromUDPAddrPort(t.in)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading reply: %w", err)
		}
		if from = unmap(from); from != t.peer {
			t.stranger(from, t.in[:n])
			continue
		}
		if done, err := onReply(t.in[:n]); done || err != nil {
			return done, err
		}
	}
}

// sendOACK sends the accepted options (RFC 2347).
func (t *transfer) sendOACK() error {
	if t.debug {
		t.log.Debug("tftp sending OACK", "remote", t.peer, "options", formatOptions(t.p.oack))
	}
	return t.send(appendOACK(t.out[:0], t.p.oack))
}

// onOACKReply accepts ACK 0, the client's agreement to the OACK.
func (t *transfer) onOACKReply(b []byte) (bool, error) {
	if block, ok := parseAck(b); ok {
		return block == 0, nil
	}
	return false, t.notAck(b)
}

// sendWindow sends every block in flight (RFC 7440 section 4).
func (t *transfer) sendWindow() error {
	if t.debug && t.win.first >= t.logAt {
		t.log.Debug("tftp sending data", "remote", t.peer, "block", t.win.first, "bytes", t.sent)
		t.logAt = t.win.first + progressBlocks
	}
	for i, data := range t.win.blocks {
		block := uint16(t.win.first + uint64(i))
		if err := t.send(appendData(t.out[:0], block, data)); err != nil {
			return err
		}
	}
	return nil
}

// onDataReply slides the window on an ACK of a block in flight. An ACK of
// an earlier block is ignored, so a late duplicate cannot double the
// traffic; a lost window is resent by the timer.
func (t *transfer) onDataReply(b []byte) (bool, error) {
	block, ok := parseAck(b)
	if !ok {
		return false, t.notAck(b)
	}
	n, ok := t.win.ack(block)
	if !ok {
		if t.debug {
			t.log.Debug("tftp ignoring stale ACK", "block", block)
		}
		return false, nil
	}
	t.sent += int64(n)
	return true, nil
}

// notAck handles a reply other than an ACK: an ERROR ends the transfer,
// anything else is counted and ignored.
func (t *transfer) notAck(b []byte) error {
	if code, msg, ok := parseError(b); ok {
		return &clientError{code: code, msg: msg}
	}
	t.stats.malformed.Add(1)
	t.metrics.malformed()
	t.log.Debug("tftp ignoring unexpected packet", "remote", t.peer, "bytes", len(b))
	return nil
}

// stranger answers a packet from a peer other than the client with
// ERROR 5, unless it is itself an ERROR.
func (t *transfer) stranger(from netip.AddrPort, b []byte) {
	t.log.Debug("tftp packet from unknown transfer ID", "remote", from)
	if opcodeOf(b) == opERROR {
		return
	}
	pkt := appendError(nil, errUnknownTID, "unknown transfer ID")
	if _, err := t.conn.WriteToUDPAddrPort(pkt, from); err != nil {
		t.log.Debug("tftp sending error", "remote", from, "err", err)
	}
}

// send writes one packet to the client.
func (t *transfer) send(b []byte) error {
	if _, err := t.conn.WriteToUDPAddrPort(b, t.peer); err != nil {
		return fmt.Errorf("sending to %s: %w", t.peer, err)
	}
	return nil
}
