package tftp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/internal/lograte"
	"github.com/rackboot/rackboot/inventory"
)

// Defaults of Config fields left zero.
const (
	DefaultAddr          = ":69"       // the TFTP port, RFC 1350 section 4
	DefaultMaxBlockSize  = 1468        // Ethernet MTU 1500 - 20 IPv4 - 8 UDP - 4 TFTP
	DefaultMaxWindowSize = 64          // blocks
	DefaultTimeout       = time.Second // before a retransmission
	DefaultRetries       = 5           // retransmissions before giving up
	DefaultMaxTransfers  = 256         // concurrent transfers
	DefaultMaxPerClient  = 8           // concurrent transfers from one address
)

// Recorder records a timeline event for the machine last seen with an
// address. *inventory.Store and *inventory.Inventory satisfy it. The Server
// calls it from many transfers at once, so it must be safe for concurrent
// use; it may block briefly (a disk write) but not for long.
type Recorder interface {
	// RecordByIP records e for the machine at ip, returning an error
	// wrapping inventory.ErrNotFound when no machine is known there.
	RecordByIP(ip netip.Addr, e inventory.Event) (inventory.Event, error)
}

// Config configures a Server. Zero fields take the defaults named.
type Config struct {
	// Addr is the UDP address requests arrive on; "" means ":69". A host
	// that is an IPv6 literal listens on IPv6, anything else on IPv4.
	Addr string
	// Interface, when set, ties the listening socket and every transfer
	// socket to that network interface (SO_BINDTODEVICE; Linux only).
	Interface string
	// Roots are the directories files are served from, searched in order:
	// the operator's TFTP root first, then the iPXE directory. At least
	// one is required and each must exist. Serve opens them when it
	// starts: a directory removed and made again later is not seen.
	Roots []string
	// Files maps a file name, as a cleaned request names it, to a path
	// opened as is, symbolic links followed. They are searched after
	// Roots. They are for the boot loaders of system directories such as
	// Debian's /usr/lib/ipxe, whose files are links to /boot: the operator
	// picks each one, and clients can reach nothing else through them.
	Files map[string]string
	// MaxBlockSize caps the negotiated blksize (RFC 2348), in bytes; 0
	// means 1468, which fits an Ethernet frame. Allowed: 8..65464.
	MaxBlockSize int
	// MaxWindowSize caps the negotiated windowsize (RFC 7440), in blocks;
	// 0 means 64. Each transfer buffers up to MaxBlockSize*MaxWindowSize
	// bytes. Allowed: 1..65535.
	MaxWindowSize int
	// Timeout is how long a transfer waits for an acknowledgement before
	// sending again, unless the client negotiates its own (RFC 2349);
	// 0 means 1s.
	Timeout time.Duration
	// Retries is how many times a transfer sends the same packets again
	// before giving up; 0 means 5.
	Retries int
	// MaxTransfers caps concurrent transfers; further requests get ERROR 0
	// "server busy". 0 means 256.
	MaxTransfers int
	// MaxPerClient caps concurrent transfers from one client IP address,
	// so that one host cannot take every slot of MaxTransfers; its further
	// requests get ERROR 0 "too many transfers from this address". Firmware
	// fetches one file at a time, so a few suffice. 0 means 8.
	MaxPerClient int
	// Metrics counts transfers, bytes and errors for Prometheus; nil
	// counts nothing. Build it with NewMetrics.
	Metrics *Metrics
}

// Server is a read-only TFTP server. Make it with NewServer; its methods
// are safe for concurrent use.
type Server struct {
	cfg   Config
	lim   limits
	rec   Recorder
	log   *slog.Logger
	stats counters

	ready     chan struct{} // closed once Serve listens
	readyOnce sync.Once
	addr      atomic.Pointer[net.UDPAddr]
	// limit spaces out warnings about limits and misbehaving clients.
	limit *lograte.Limiter

	mu sync.Mutex
	// guarded by mu:
	// active holds a key (client address and raw request) per running
	// transfer, so that a retransmitted RRQ starts no second transfer.
	active map[string]bool
	// perIP counts the running transfers of each client address.
	perIP map[netip.Addr]int
}

// Errors of admit.
var (
	errDuplicate  = errors.New("request already being served")
	errBusy       = errors.New("too many transfers")
	errClientBusy = errors.New("too many transfers from this address")
)

// NewServer checks cfg and returns a Server. rec may be nil (nothing is
// recorded) and so may log (nothing is logged).
func NewServer(cfg Config, rec Recorder, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:    cfg,
		lim:    limits{blksize: cfg.MaxBlockSize, window: cfg.MaxWindowSize, timeout: cfg.Timeout},
		rec:    rec,
		log:    log,
		ready:  make(chan struct{}),
		limit:  lograte.New(warnEvery, nil),
		active: make(map[string]bool),
		perIP:  make(map[netip.Addr]int),
	}, nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	c.Addr = orDefault(c.Addr, DefaultAddr)
	c.MaxBlockSize = orDefault(c.MaxBlockSize, DefaultMaxBlockSize)
	c.MaxWindowSize = orDefault(c.MaxWindowSize, DefaultMaxWindowSize)
	c.Timeout = orDefault(c.Timeout, DefaultTimeout)
	c.Retries = orDefault(c.Retries, DefaultRetries)
	c.MaxTransfers = orDefault(c.MaxTransfers, DefaultMaxTransfers)
	c.MaxPerClient = orDefault(c.MaxPerClient, DefaultMaxPerClient)
	return c
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// validate reports the first field of c that cannot work.
func (c Config) validate() error {
	switch {
	case len(c.Roots) == 0 && len(c.Files) == 0:
		return errors.New("tftp: no root directory or file configured")
	case c.MaxBlockSize < minBlockSize || c.MaxBlockSize > maxBlockSize:
		return fmt.Errorf("tftp: max block size %d outside %d..%d",
			c.MaxBlockSize, minBlockSize, maxBlockSize)
	case c.MaxWindowSize < 1 || c.MaxWindowSize > maxWindowSize:
		return fmt.Errorf("tftp: max window size %d outside 1..%d", c.MaxWindowSize, maxWindowSize)
	case c.Timeout < 0 || c.Retries < 0 || c.MaxTransfers < 0 || c.MaxPerClient < 0:
		return errors.New("tftp: negative timeout, retries, max transfers or max per client")
	}
	for _, d := range c.Roots {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("tftp: checking root: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("tftp: root %q is not a directory", d)
		}
	}
	for name, p := range c.Files {
		if clean, err := cleanName(name); err != nil || clean != name {
			return fmt.Errorf("tftp: file name %q is not a clean relative name", name)
		}
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("tftp: file %q: %s is not a readable regular file", name, p)
		}
	}
	if c.Interface != "" {
		if _, err := net.InterfaceByName(c.Interface); err != nil {
			return fmt.Errorf("tftp: interface %q: %w", c.Interface, err)
		}
	}
	return nil
}

// Run listens on Config.Addr (and Config.Interface) and serves until ctx
// ends; then it returns nil.
func (s *Server) Run(ctx context.Context) error {
	c, err := listenUDP(ctx, udpNetwork(s.cfg.Addr), s.cfg.Addr, s.cfg.Interface)
	if err != nil {
		return fmt.Errorf("tftp: listening on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, c)
}

// Serve answers the requests arriving on c until ctx ends, then closes c,
// stops running transfers, waits for them and returns nil. It returns an
// error when a root cannot be opened or reading c fails otherwise. Serve
// owns c from the call on. Transfer sockets bind to c's address (or to the
// address each request was sent to) and to Config.Interface.
func (s *Server) Serve(ctx context.Context, c *net.UDPConn) error {
	defer c.Close()
	rs, err := openRoots(s.cfg.Roots)
	if err != nil {
		return fmt.Errorf("tftp: %w", err)
	}
	defer rs.close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	l := &listener{Server: s, rc: newRequestConn(c), roots: rs}
	s.addr.Store(c.LocalAddr().(*net.UDPAddr))
	s.readyOnce.Do(func() { close(s.ready) })
	s.log.Info("tftp listening", "addr", c.LocalAddr().String(),
		"path", s.cfg.Roots, "iface", s.cfg.Interface)
	err = l.loop(ctx)
	cancel()
	l.wg.Wait()
	return err
}

// Addr returns the address the server listens on, or nil before it does.
// With Config.Addr "127.0.0.1:0" it tells tests the port picked.
func (s *Server) Addr() net.Addr {
	if a := s.addr.Load(); a != nil {
		return a
	}
	return nil
}

// Ready returns a channel closed once the server listens; Addr is set then.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Stats returns the server's counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// admit registers a transfer under key for the client at ip, or fails
// with errDuplicate when key is being served, errClientBusy when
// MaxPerClient transfers of ip run, or errBusy when MaxTransfers do.
func (s *Server) admit(key string, ip netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.active[key]:
		return errDuplicate
	case s.perIP[ip] >= s.cfg.MaxPerClient:
		return errClientBusy
	case len(s.active) >= s.cfg.MaxTransfers:
		return errBusy
	}
	s.active[key] = true
	s.perIP[ip]++
	return nil
}

// leave unregisters the transfer under key of the client at ip.
func (s *Server) leave(key string, ip netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, key)
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// record adds a tftp-served event for the machine at ip. A failure is
// logged and otherwise ignored: an unknown address is common (a machine
// DHCP has not seen), and the transfer has succeeded anyway.
func (s *Server) record(ip netip.Addr, file string, log *slog.Logger) {
	if s.rec == nil {
		return
	}
	e := inventory.Event{Kind: inventory.EventTFTPServed, Detail: file}
	_, err := s.rec.RecordByIP(ip, e)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		log.Debug("tftp transfer not recorded: no machine known at this address", "err", err)
	case err != nil:
		s.warn(log, "", "tftp transfer not recorded", "err", err)
	}
}

// warn logs msg at Warn at most once per warnEvery for each msg and key
// (a client address, or "" for the server as a whole); repeats go to
// Debug, and the next line that goes out counts them.
func (s *Server) warn(log *slog.Logger, key, msg string, args ...any) {
	s.limit.Log(context.Background(), log, slog.LevelWarn, msg+"\x00"+key, msg, args...)
}
