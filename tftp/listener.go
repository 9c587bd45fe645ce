package tftp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// readBufSize exceeds any UDP payload, so a request longer than
// maxRequestLen is seen whole and refused rather than cut short.
const readBufSize = 65536

// warnEvery spaces the warnings about one limit or one client.
const warnEvery = time.Minute

// listener is one Serve call: the request socket, the open roots and the
// transfers started from them.
type listener struct {
	*Server
	rc    *requestConn
	roots roots
	wg    sync.WaitGroup // running transfers
}

// incoming is a request as it arrived on the request port.
type incoming struct {
	req   request
	raw   string         // the datagram, to spot retransmissions
	from  netip.AddrPort // the client and its transfer ID
	local netip.Addr     // the address the client sent to
	log   *slog.Logger   // with the client's ip and the file
}

// loop reads requests until ctx ends (nil) or the socket fails.
func (l *listener) loop(ctx context.Context) error {
	buf := make([]byte, readBufSize)
	for {
		n, from, to, err := l.rc.read(buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tftp: reading requests: %w", err)
		}
		l.handle(ctx, buf[:n], from, to)
	}
}

// handle answers one datagram that arrived on the request port.
func (l *listener) handle(ctx context.Context, pkt []byte, from netip.AddrPort, to netip.Addr) {
	switch op := opcodeOf(pkt); {
	case op == opRRQ || op == opWRQ:
		l.request(ctx, pkt, from, to)
	case len(pkt) < 2 || op == opERROR:
		// Never answer an ERROR (RFC 1350 section 7): two peers could
		// bounce errors forever. A packet without an opcode is noise.
		l.malformed(from, fmt.Errorf("unexpected packet of %d bytes", len(pkt)), false)
	default:
		l.malformed(from, fmt.Errorf("unexpected opcode %d on the request port", op), true)
	}
}

// request answers an RRQ or WRQ.
func (l *listener) request(ctx context.Context, pkt []byte, from netip.AddrPort, to netip.Addr) {
	req, err := parseRequest(pkt)
	if err != nil {
		l.malformed(from, err, true)
		return
	}
	l.stats.requests.Add(1)
	in := incoming{req: req, raw: string(pkt), from: from, local: to}
	in.log = l.log.With("ip", from.Addr(), "file", req.filename)
	if l.log.Enabled(ctx, slog.LevelDebug) {
		in.log.Debug("tftp request", "remote", from, "mode", req.mode,
			"options", formatOptions(req.options))
	}
	switch {
	case req.op == opWRQ: // rackboot only serves files
		l.cfg.Metrics.ended(resultRefused, reasonWrite)
		l.refuse(in, errAccess, "server is read-only")
	case req.mode == modeMail: // obsolete, RFC 1350 section 1
		l.cfg.Metrics.ended(resultRefused, reasonMode)
		l.refuse(in, errIllegalOp, "mail mode is not supported")
	default:
		l.start(ctx, in)
	}
}

// start admits a transfer and runs it on its own goroutine.
func (l *listener) start(ctx context.Context, in incoming) {
	key := in.from.String() + "\x00" + in.raw
	ip := in.from.Addr()
	switch err := l.admit(key, ip); {
	case errors.Is(err, errDuplicate):
		in.log.Debug("tftp request retransmitted; already being served")
		return
	case errors.Is(err, errClientBusy):
		// Counted and warned per address, so that one host flooding the
		// server shows up by name.
		l.stats.clientBusy.Add(1)
		l.cfg.Metrics.ended(resultBusy, reasonClientBusy)
		l.reply(in.from, errUndefined, errClientBusy.Error())
		l.warn(in.log, ip.String(), "tftp per-client transfer limit reached; turning requests away",
			"err", errClientBusy)
		return
	case err != nil:
		l.stats.busy.Add(1)
		l.cfg.Metrics.ended(resultBusy, reasonBusy)
		l.reply(in.from, errUndefined, "server busy")
		l.warn(in.log, "", "tftp transfer limit reached; turning requests away", "err", errBusy)
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer l.leave(key, ip)
		l.serve(ctx, in)
	}()
}

// refuse answers a request with an ERROR from the request port.
func (l *listener) refuse(in incoming, code errorCode, msg string) {
	l.stats.refused.Add(1)
	l.reply(in.from, code, msg)
	in.log.Info("tftp request refused", "err", msg)
}

// malformed counts a packet that makes no sense, answering ERROR 4
// (RFC 1350 section 7) when reply is set.
func (l *listener) malformed(from netip.AddrPort, err error, reply bool) {
	l.stats.malformed.Add(1)
	l.cfg.Metrics.malformed()
	l.log.Debug("tftp malformed packet", "remote", from, "err", err)
	if reply {
		l.reply(from, errIllegalOp, "malformed request")
	}
}

// reply sends an ERROR from the request port.
func (l *listener) reply(to netip.AddrPort, code errorCode, msg string) {
	if err := l.rc.write(appendError(nil, code, msg), to); err != nil {
		l.log.Debug("tftp sending error", "remote", to, "err", err)
	}
}
