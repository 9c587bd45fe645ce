package bmc

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Default ports of the protocols.
const (
	redfishPort = 443 // HTTPS
	ipmiPort    = 623 // RMCP (ASF), the port IPMI over LAN listens on
)

// session is one open client of one operation.
type session struct {
	Client
	proto inventory.BMCProtocol
	creds credentials
	conns *conns
	stop  func() bool // stops cutting conns when the operation ends
}

// open logs in to b over its protocol. With auto it tries Redfish for
// half the time left, then IPMI, and remembers what worked.
func (c *Controller) open(ctx context.Context, b *inventory.BMC, creds credentials,
	tc *tls.Config) (*session, error) {
	proto := c.protocolFor(b)
	if proto != inventory.BMCAuto {
		s, err := c.openWith(ctx, proto, b, creds, tc)
		if err != nil {
			c.forget(b)
		}
		return c.started(ctx, s), err
	}
	rctx, cancel := context.WithTimeout(ctx, timeLeft(ctx)/2)
	s, rerr := c.openWith(rctx, inventory.BMCRedfish, b, creds, tc)
	cancel()
	if rerr == nil {
		c.learn(b, inventory.BMCRedfish)
		return c.started(ctx, s), nil
	}
	s, ierr := c.openWith(ctx, inventory.BMCIPMI, b, creds, tc)
	if ierr == nil {
		c.learn(b, inventory.BMCIPMI)
		return c.started(ctx, s), nil
	}
	return nil, fmt.Errorf("redfish: %w; ipmi: %w", rerr, ierr)
}

// openWith dials and logs in over proto; the connections it makes are cut
// if ctx ends first.
func (c *Controller) openWith(ctx context.Context, proto inventory.BMCProtocol,
	b *inventory.BMC, creds credentials, tc *tls.Config) (*session, error) {
	cs := newConns()
	t := Target{Protocol: proto, Host: b.Address, Port: b.Port, User: creds.user,
		Password: creds.pass, DialContext: cs.DialContext, IPMITool: c.cfg.IPMITool}
	if proto == inventory.BMCRedfish {
		t.TLS = tc
	}
	if t.Port == 0 {
		t.Port = defaultPort(proto)
	}
	cl, err := c.cfg.Dial(t)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, cs.cut)
	err = cl.Open(ctx)
	stop()
	if err != nil {
		cs.cut()
		return nil, err
	}
	return &session{Client: cl, proto: proto, creds: creds, conns: cs}, nil
}

// started arms s's connections to be cut when ctx ends.
func (c *Controller) started(ctx context.Context, s *session) *session {
	if s != nil {
		s.stop = context.AfterFunc(ctx, s.conns.cut)
	}
	return s
}

// close logs out on a clock of its own, so that an operation that ran
// out of time still closes its session; a BMC that does not answer is
// cut off after closeTimeout.
func (c *Controller) close(m inventory.Machine, s *session) {
	s.stop()
	s.conns.resume()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, s.conns.cut)
	defer stop()
	err := s.Close(ctx)
	s.conns.cut()
	if err != nil {
		c.log.Info("closing bmc session failed", "mac", primaryMAC(m), "remote", m.BMC.String(),
			"err", cleanText(err.Error(), s.creds))
	}
}

func defaultPort(p inventory.BMCProtocol) int {
	if p == inventory.BMCIPMI {
		return ipmiPort
	}
	return redfishPort
}

func timeLeft(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return DefaultTimeout
}

func (c *Controller) protocolFor(b *inventory.BMC) inventory.BMCProtocol {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.learned[bmcKey(b)]; ok && b.EffectiveProtocol() == inventory.BMCAuto {
		return p
	}
	return b.EffectiveProtocol()
}

func (c *Controller) learn(b *inventory.BMC, p inventory.BMCProtocol) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.learned[bmcKey(b)] = p
}

// forget drops what auto learned, so that the next operation tries
// Redfish again.
func (c *Controller) forget(b *inventory.BMC) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.learned, bmcKey(b))
}

// errCut is what a request sees when its operation's time ran out.
var errCut = fmt.Errorf("connection cut: %w", context.DeadlineExceeded)

// conns are the TCP connections of one session. gofish, under bmclib,
// sends its requests without a context, so the Controller cuts the
// connections itself when an operation's time is up; dials in progress
// are cancelled too.
type conns struct {
	dialer net.Dialer

	mu sync.Mutex
	// guarded by mu
	open   map[net.Conn]bool
	ctx    context.Context // cancelled by cut
	cancel context.CancelFunc
}

func newConns() *conns {
	cs := &conns{open: make(map[net.Conn]bool)}
	cs.ctx, cs.cancel = context.WithCancel(context.Background())
	return cs
}

// DialContext dials like net.Dialer, for http.Transport.
func (cs *conns) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	cs.mu.Lock()
	life := cs.ctx
	cs.mu.Unlock()
	if life.Err() != nil {
		return nil, errCut
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(life, cancel)
	defer stop()
	conn, err := cs.dialer.DialContext(ctx, network, addr)
	if err != nil {
		if life.Err() != nil {
			return nil, errCut
		}
		return nil, err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.ctx.Err() != nil {
		conn.Close()
		return nil, errCut
	}
	cs.open[conn] = true
	return &trackedConn{Conn: conn, cs: cs}, nil
}

// cut closes every connection and refuses new ones until resume.
func (cs *conns) cut() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.cancel()
	for conn := range cs.open {
		conn.Close()
	}
	clear(cs.open)
}

// resume allows new connections again after cut.
func (cs *conns) resume() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.ctx.Err() != nil {
		cs.ctx, cs.cancel = context.WithCancel(context.Background())
	}
}

func (cs *conns) forget(conn net.Conn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.open, conn)
}

// trackedConn leaves its conns when closed.
type trackedConn struct {
	net.Conn
	cs *conns
}

func (t *trackedConn) Close() error {
	t.cs.forget(t.Conn)
	return t.Conn.Close()
}
