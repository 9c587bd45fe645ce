package tftp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
)

// source is the byte stream a transfer sends.
type source struct {
	r    io.Reader
	size int64 // bytes r yields, or -1 when unknown
	f    *os.File
}

// serve runs one admitted RRQ from its own socket to the end.
func (l *listener) serve(ctx context.Context, in incoming) {
	conn, err := l.transferConn(ctx, in.local)
	if err != nil {
		l.stats.errors.Add(1)
		l.cfg.Metrics.ended(resultFailed, reasonIO)
		l.reply(in.from, errUndefined, "server error")
		l.warn(in.log, "", "tftp opening transfer socket", "err", err)
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	name, src, err := l.open(in.req)
	if err != nil {
		l.refuseFrom(conn, in, err)
		return
	}
	defer src.f.Close()

	p := negotiate(in.req.options, src.size, l.lim)
	t := newTransfer(conn, in.from, p, src.r, in.log)
	t.retries, t.stats, t.metrics = l.cfg.Retries, &l.stats, l.cfg.Metrics
	l.finish(in, name, t, t.run())
}

// finish counts and logs the end of a transfer and records a success.
func (l *listener) finish(in incoming, name string, t *transfer, err error) {
	l.cfg.Metrics.sent(t.sent)
	switch {
	case err == nil:
		l.stats.served.Add(1)
		l.cfg.Metrics.ended(resultOK, "")
		in.log.Info("tftp transfer done", "bytes", t.sent)
		l.record(in.from.Addr(), name, in.log)
	case errors.Is(err, errProbe):
		l.stats.probes.Add(1)
		l.cfg.Metrics.ended(resultProbe, "")
		in.log.Debug("tftp size probe answered", "err", err)
	default:
		l.stats.errors.Add(1)
		l.cfg.Metrics.ended(resultFailed, failure(err))
		in.log.Info("tftp transfer failed", "bytes", t.sent, "err", err)
	}
}

// open resolves the request's file in the roots and prepares its bytes in
// the request's mode. It returns the cleaned name.
func (l *listener) open(req request) (string, source, error) {
	name, err := cleanName(req.filename)
	if err != nil {
		return "", source{}, err
	}
	f, fi, err := l.roots.open(name)
	if p, pinned := l.cfg.Files[name]; pinned && errors.Is(err, errNoFile) {
		f, fi, err = openPinned(p)
	}
	if err != nil {
		return "", source{}, err
	}
	if req.mode == modeNetascii {
		return name, netasciiSource(f, fi.Size()), nil
	}
	return name, source{r: bufio.NewReaderSize(f, 64*1024), size: fi.Size(), f: f}, nil
}

// netasciiSource reads f converted to netascii; its size needs one pass
// over the file.
func netasciiSource(f *os.File, n int64) source {
	size, err := netasciiSize(io.NewSectionReader(f, 0, n))
	if err != nil {
		size = -1
	}
	return source{r: newNetasciiReader(io.NewSectionReader(f, 0, n)), size: size, f: f}
}

// refuseFrom answers a request whose file cannot be served: ERROR 1 when
// no root has it, ERROR 2 (access violation) for anything else, such as a
// path that leaves its root.
func (l *listener) refuseFrom(conn *net.UDPConn, in incoming, err error) {
	l.stats.refused.Add(1)
	code, msg, reason := errAccess, "access violation", reasonAccess
	if errors.Is(err, errNoFile) {
		code, msg, reason = errNotFound, "file not found", reasonNotFound
	}
	l.cfg.Metrics.ended(resultRefused, reason)
	pkt := appendError(nil, code, msg)
	if _, werr := conn.WriteToUDPAddrPort(pkt, in.from); werr != nil {
		in.log.Debug("tftp sending error", "err", werr)
	}
	if code == errAccess {
		// A client's doing: once a minute per client, so that a scan of
		// paths cannot flood the log.
		l.warn(in.log, in.from.Addr().String(), "tftp request refused: access violation", "err", err)
		return
	}
	in.log.Info("tftp request refused: file not found", "err", err)
}

// transferConn opens the socket of one transfer, on an ephemeral port (the
// server's transfer ID, RFC 1350 section 4) of the address the request was
// sent to, or of the listening address if that fails.
func (l *listener) transferConn(ctx context.Context, to netip.Addr) (*net.UDPConn, error) {
	network := "udp4"
	if l.rc.local.Is6() {
		network = "udp6"
	}
	addr := netip.AddrPortFrom(to, 0).String()
	c, err := listenUDP(ctx, network, addr, l.cfg.Interface)
	if err != nil && to != l.rc.local {
		addr = netip.AddrPortFrom(l.rc.local, 0).String()
		c, err = listenUDP(ctx, network, addr, l.cfg.Interface)
	}
	return c, err
}

// openPinned opens one of Config.Files, following symbolic links.
func openPinned(p string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", p, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", p, errNotFile)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}
