package bmc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Defaults of Config.
const (
	DefaultTimeout       = time.Minute
	DefaultSoftOffGrace  = 2 * time.Minute
	DefaultPollInterval  = 2 * time.Second
	DefaultMaxConcurrent = 8
)

// closeTimeout bounds logging out, which runs on its own clock so that a
// timed-out operation still closes its session.
const closeTimeout = 10 * time.Second

// Config is the configuration of a Controller. The zero value is usable.
type Config struct {
	// Timeout bounds one operation: login, the calls, reading back;
	// zero means DefaultTimeout. Off gets SoftOffGrace on top.
	Timeout time.Duration
	// SoftOffGrace is how long Off waits for the OS to shut down after
	// the soft request before it forces power off; zero means
	// DefaultSoftOffGrace.
	SoftOffGrace time.Duration
	// PollInterval is how often Off reads the power state while it
	// waits; zero means DefaultPollInterval.
	PollInterval time.Duration
	// MaxConcurrent caps BMC operations in flight across the rack; zero
	// means DefaultMaxConcurrent.
	MaxConcurrent int
	// RootCAs verify Redfish certificates of machines without a ca_file;
	// nil means the system's roots.
	RootCAs *x509.CertPool
	// IPMITool is the path of the ipmitool binary; "" looks it up in PATH.
	IPMITool string
	// Dial builds the client of one operation; nil means bmclib's.
	Dial DialFunc
	// Metrics counts and times operations for Prometheus; nil counts
	// nothing. Build it with NewMetrics.
	Metrics *Metrics
	// Secrets reads the credentials of machines whose BMC names a
	// Kubernetes Secret; nil fails their operations with ErrCredentials.
	Secrets SecretReader
}

// Validate reports the first bad field of c, naming it.
func (c Config) Validate() error {
	negative := []struct {
		field string
		bad   bool
	}{
		{"Timeout", c.Timeout < 0},
		{"SoftOffGrace", c.SoftOffGrace < 0},
		{"PollInterval", c.PollInterval < 0},
		{"MaxConcurrent", c.MaxConcurrent < 0},
	}
	for _, n := range negative {
		if n.bad {
			return fmt.Errorf("%s: must not be negative", n.field)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SoftOffGrace == 0 {
		c.SoftOffGrace = DefaultSoftOffGrace
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.Dial == nil {
		c.Dial = dialBMCLib
	}
	return c
}

// Recorder appends events to machines' timelines; *inventory.Store and
// *inventory.Inventory implement it. It is called from many operations at
// once.
type Recorder interface {
	Record(mac string, e inventory.Event) (inventory.Event, error)
}

// Controller runs BMC operations for the whole rack. It is safe for
// concurrent use.
type Controller struct {
	cfg   Config
	rec   Recorder
	log   *slog.Logger
	slots chan struct{} // one token per operation in flight

	mu sync.Mutex
	// guarded by mu
	locks   map[string]chan struct{} // per BMC address: held by its operation
	learned map[string]inventory.BMCProtocol
}

// New checks cfg and returns a Controller recording to rec. A nil log is
// silent.
func New(cfg Config, rec Recorder, log *slog.Logger) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bmc: %w", err)
	}
	if rec == nil {
		return nil, errors.New("bmc: a Recorder is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Controller{
		cfg:     cfg,
		rec:     rec,
		log:     log,
		slots:   make(chan struct{}, cfg.MaxConcurrent),
		locks:   make(map[string]chan struct{}),
		learned: make(map[string]inventory.BMCProtocol),
	}, nil
}

// operation is one BMC operation: its name on the timeline, the event
// kind, extra time it may take, and what it does inside a session.
type operation struct {
	name  string
	kind  inventory.EventKind
	extra time.Duration
	fn    func(ctx context.Context, s *session, res *Result) error
}

// do runs op on m's BMC and records the outcome on m's timeline.
func (c *Controller) do(ctx context.Context, m inventory.Machine, who string,
	op operation) (Result, error) {
	start := time.Now()
	res := Result{Machine: m.Name, Action: op.name}
	if m.BMC == nil {
		return res, fmt.Errorf("%s: %w", m.Name, ErrNoBMC)
	}
	err := c.acquireAndRun(ctx, m, op, &res)
	res.Duration = time.Since(start)
	c.cfg.Metrics.observe(op.name, res.Duration, err)
	c.record(m, who, res, op.kind, err)
	return res, err
}

// acquireAndRun waits for the BMC and a rack slot, then runs op within
// its timeout.
func (c *Controller) acquireAndRun(ctx context.Context, m inventory.Machine, op operation,
	res *Result) error {
	release, err := c.acquire(ctx, bmcKey(m.BMC))
	if err != nil {
		return c.fail(ctx, m, op.name+": waiting for the bmc", err, credentials{})
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout+op.extra)
	defer cancel()
	return c.run(ctx, m, op, res)
}

// acquire takes the BMC's lock, then a rack slot; release gives both back.
func (c *Controller) acquire(ctx context.Context, key string) (release func(), err error) {
	lock := c.lockFor(key)
	select {
	case lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		<-lock
		return nil, ctx.Err()
	}
	return func() { <-c.slots; <-lock }, nil
}

func (c *Controller) lockFor(key string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.locks[key]
	if !ok {
		l = make(chan struct{}, 1)
		c.locks[key] = l
	}
	return l
}

// bmcKey identifies one BMC: machines sharing a BMC share its lock.
func bmcKey(b *inventory.BMC) string { return strings.ToLower(b.Address) }

// run does op inside one session; every error it returns is an opError.
func (c *Controller) run(ctx context.Context, m inventory.Machine, op operation,
	res *Result) error {
	creds, err := c.loadCredentials(ctx, m.BMC)
	if err != nil {
		return c.fail(ctx, m, op.name, err, creds)
	}
	tlsConf, err := c.tlsConfig(m.BMC)
	if err != nil {
		return c.fail(ctx, m, op.name, err, creds)
	}
	s, err := c.open(ctx, m.BMC, creds, tlsConf)
	if err != nil {
		return c.fail(ctx, m, op.name+": logging in", err, creds)
	}
	defer c.close(m, s)
	res.Protocol = s.proto
	if err := op.fn(ctx, s, res); err != nil {
		return c.fail(ctx, m, op.name, err, creds)
	}
	return nil
}

// fail turns err into an opError naming the machine, its BMC and what
// failed, with the credentials kept out.
func (c *Controller) fail(ctx context.Context, m inventory.Machine, what string, err error,
	creds credentials) error {
	kind := classify(ctx, err)
	text := cleanText(err.Error(), creds)
	switch {
	case kind != nil && !errors.Is(err, kind):
		text = kind.Error() + ": " + text
	case kind == nil && strings.Contains(text, ipmiNoSession):
		text = "ipmi login failed (wrong user or password, no cipher suite in common, " +
			"or no answer): " + text
	}
	return &opError{kind: kind, msg: fmt.Sprintf("%s (%s): %s: %s", m.Name, m.BMC, what, text)}
}

// tlsConfig verifies Redfish certificates against the machine's ca_file,
// else Config.RootCAs, else the system; only insecure_skip_verify turns
// verification off.
func (c *Controller) tlsConfig(b *inventory.BMC) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: c.cfg.RootCAs,
		InsecureSkipVerify: b.InsecureSkipVerify}
	if b.CAFile == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(b.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading ca_file: %w", err)
	}
	conf.RootCAs = x509.NewCertPool()
	if !conf.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate", b.CAFile)
	}
	return conf, nil
}
