package dhcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/sync/errgroup"
)

// maxPacket bounds a received datagram; DHCP messages are far smaller.
const maxPacket = 1 << 16

// Run serves until ctx ends. It binds UDP 67, and 4011 in proxy mode, on
// Config.Interface alone (SO_BINDTODEVICE), then answers packets with at
// most Config.Workers in flight, dropping and counting the rest. It closes
// its sockets and returns nil when ctx ends, or an error when a socket
// cannot be opened or fails.
func (s *Server) Run(ctx context.Context) error {
	ports := []int{PortServer}
	if s.cfg.Mode == ModeProxy {
		ports = append(ports, PortPXE)
	}
	claim, err := claimInterface(s.cfg.Interface)
	if err != nil {
		return err
	}
	defer claim.Close()
	conns := make([]*net.UDPConn, 0, len(ports))
	for _, port := range ports {
		c, err := listen(s.cfg.Interface, port)
		if err != nil {
			closeAll(conns)
			return fmt.Errorf("listening on %s port %d: %w", s.cfg.Interface, port, err)
		}
		conns = append(conns, c)
	}
	s.log.Info("dhcp serving", "mode", string(s.cfg.Mode), "ip", s.cfg.ServerIP)

	g, gctx := errgroup.WithContext(ctx)
	w := &workers{slots: make(chan struct{}, s.cfg.Workers)}
	for i, c := range conns {
		g.Go(func() error { return s.serve(gctx, c, ports[i], w) })
	}
	g.Go(func() error {
		<-gctx.Done()
		closeAll(conns)
		return nil
	})
	err = g.Wait()
	w.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// workers runs packet handlers, at most cap(slots) at once.
type workers struct {
	slots chan struct{}
	wg    sync.WaitGroup
}

// try runs f on a new goroutine if a slot is free and reports whether it
// did.
func (w *workers) try(f func()) bool {
	select {
	case w.slots <- struct{}{}:
	default:
		return false
	}
	w.wg.Go(func() {
		defer func() { <-w.slots }()
		f()
	})
	return true
}

// serve reads packets from c until it is closed and hands each to a worker.
func (s *Server) serve(ctx context.Context, c *net.UDPConn, port int, w *workers) error {
	buf := make([]byte, maxPacket)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("reading port %d: %w", port, err)
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		data := bytes.Clone(buf[:n])
		if !w.try(func() { s.answer(c, data, src, port) }) {
			s.stats.dropped.Add(1)
			s.cfg.Metrics.packet(typeUnknown, outcomeDropped)
			s.note(s.log, slog.LevelWarn, "", "all workers busy, packets dropped", "remote", src)
		}
	}
}

// answer handles one packet and sends the reply, if any.
func (s *Server) answer(c *net.UDPConn, data []byte, src netip.AddrPort, port int) {
	r, ok, v := s.handle(data, src, port)
	if ok {
		if _, err := c.WriteToUDPAddrPort(r.Packet.ToBytes(), r.Dst); err != nil {
			s.stats.sendErrors.Add(1)
			v.outcome = outcomeError
			s.log.Debug("sending reply", "remote", r.Dst, "err", err)
		}
	}
	s.cfg.Metrics.packet(v.typ, v.outcome)
}

func closeAll(conns []*net.UDPConn) {
	for _, c := range conns {
		c.Close()
	}
}
