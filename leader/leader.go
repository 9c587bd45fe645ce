// Package leader elects one leader among rackboot's replicas with a
// coordination.k8s.io/v1 Lease, through client-go's leaderelection, and
// runs the work that must happen once only on the replica that leads.
//
// Every replica runs an Elector; the parts that must run on the leader
// alone are wrapped with Gate:
//
//	e, err := leader.New(leader.Config{Client: cs, Namespace: "rackboot",
//		Name: "rackboot-leader", Identity: podName})
//	...
//	go e.Run(ctx)
//	go e.Gate(workflow).Run(ctx) // runs only while e leads
//
// A replica that stops cleanly releases the Lease, so another takes over
// within a retry period; one that dies or loses the API server holds it
// until the lease duration has passed without a renewal.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Defaults of Config.
const (
	DefaultName          = "rackboot-leader"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config configures an Elector.
type Config struct {
	// Client talks to the API server keeping the Lease (required). Its
	// identity needs get, create and update on leases in Namespace.
	Client kubernetes.Interface
	// Namespace holds the Lease (required).
	Namespace string
	// Name is the Lease's name; empty means DefaultName.
	Name string
	// Identity names this replica in the Lease (required, unique among
	// the replicas).
	Identity string
	// LeaseDuration is how long the others wait after the last renewal
	// they saw before they take over; zero means DefaultLeaseDuration.
	// The Lease keeps whole seconds: it must be a whole number of them.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader tries to renew before it
	// gives up leading; zero means DefaultRenewDeadline. It must be
	// shorter than LeaseDuration and longer than 1.2 RetryPeriods
	// (CheckTimings).
	RenewDeadline time.Duration
	// RetryPeriod is the time between two tries to acquire or renew;
	// zero means DefaultRetryPeriod.
	RetryPeriod time.Duration
	// Log receives leadership changes at Info; nil is silent.
	Log *slog.Logger
}

// Runner is a long-running part: Run blocks until ctx ends and returns
// nil on a clean stop.
type Runner interface {
	Run(ctx context.Context) error
}

// Elector takes part in the election of one replica. Its methods are
// safe for concurrent use.
type Elector struct {
	cfg  Config
	lock *watchedLock
	log  *slog.Logger

	// mu guards the fields below.
	mu sync.Mutex
	// leader is the identity last reported holding the Lease, for the
	// log; Leader asks lock, which knows whether the Lease lapsed.
	leader string
	// term is the context of this replica's current term as leader; nil
	// when it does not lead. It ends when leadership is lost.
	term context.Context
	// changed is closed, and replaced, whenever term changes.
	changed chan struct{}
}

// New checks cfg and returns an Elector; it talks to no API server yet.
func New(cfg Config) (*Elector, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, cfg.Namespace, cfg.Name,
		cfg.Client.CoreV1(), cfg.Client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: cfg.Identity})
	if err != nil {
		return nil, fmt.Errorf("leader: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Elector{cfg: cfg, lock: &watchedLock{Interface: lock}, log: log,
		changed: make(chan struct{})}
	if _, err := leaderelection.NewLeaderElector(e.electionConfig()); err != nil {
		return nil, fmt.Errorf("leader: %w", err)
	}
	return e, nil
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	c.LeaseDuration = orDefault(c.LeaseDuration, DefaultLeaseDuration)
	c.RenewDeadline = orDefault(c.RenewDeadline, DefaultRenewDeadline)
	c.RetryPeriod = orDefault(c.RetryPeriod, DefaultRetryPeriod)
	return c
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// CheckTimings checks the Lease timings the election needs: a lease of
// a whole number of seconds, at least one (the Lease keeps whole
// seconds), a renew deadline shorter than the lease, and a renew deadline
// longer than the retry period times client-go's jitter factor
// (leaderelection.JitterFactor, 1.2), which client-go requires. Errors
// name the timing: "lease duration", "renew deadline" or "retry period".
func CheckTimings(lease, renew, retry time.Duration) error {
	switch {
	case lease < time.Second:
		return fmt.Errorf("lease duration: %v is shorter than a second", lease)
	case lease%time.Second != 0:
		return fmt.Errorf("lease duration: %v is not a whole number of seconds (the Lease keeps "+
			"whole seconds)", lease)
	case renew <= 0 || renew >= lease:
		return fmt.Errorf("renew deadline: %v must be positive and shorter than the lease duration %v",
			renew, lease)
	case retry <= 0:
		return fmt.Errorf("retry period: %v must be positive", retry)
	case renew <= time.Duration(leaderelection.JitterFactor*float64(retry)):
		return fmt.Errorf("retry period: %v, times %v for client-go's jitter, must be shorter than "+
			"the renew deadline %v", retry, leaderelection.JitterFactor, renew)
	}
	return nil
}

// validate names the first bad field of c, defaults applied.
func (c Config) validate() error {
	switch {
	case c.Client == nil:
		return errors.New("leader config: client: missing")
	case c.Namespace == "":
		return errors.New("leader config: namespace: missing")
	case c.Identity == "":
		return errors.New("leader config: identity: missing")
	}
	if err := CheckTimings(c.LeaseDuration, c.RenewDeadline, c.RetryPeriod); err != nil {
		return fmt.Errorf("leader config: %w", err)
	}
	return nil
}

// electionConfig is client-go's configuration of one round of Run.
func (e *Elector) electionConfig() leaderelection.LeaderElectionConfig {
	return leaderelection.LeaderElectionConfig{
		Lock:            e.lock,
		Name:            e.cfg.Name,
		LeaseDuration:   e.cfg.LeaseDuration,
		RenewDeadline:   e.cfg.RenewDeadline,
		RetryPeriod:     e.cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: e.started,
			OnStoppedLeading: e.stopped,
			OnNewLeader:      e.observed,
		},
	}
}

// Run takes part in the election until ctx ends, then gives the Lease
// up if it holds it and returns nil. A replica that loses leadership
// stands again at once.
func (e *Elector) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(e.electionConfig())
		if err != nil {
			return fmt.Errorf("leader: %w", err)
		}
		le.Run(ctx)
	}
	return nil
}

// Leading reports whether this replica leads now.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.term != nil && e.term.Err() == nil
}

// Leader returns the identity of the replica that leads now: this one
// while it does, else the holder of the Lease last seen, as long as that
// Lease has not lapsed (no renewal seen for a lease duration). It returns
// "" when no replica is known to lead: none was seen yet, the last one
// released the Lease or stopped renewing it, or this replica lost its
// term and has seen no other leader since.
func (e *Elector) Leader() string {
	if e.Leading() {
		return e.cfg.Identity
	}
	h := e.lock.holder(time.Now())
	if h == e.cfg.Identity {
		return "" // a term of ours that ended
	}
	return h
}

// Identity returns this replica's identity.
func (e *Elector) Identity() string { return e.cfg.Identity }

// started begins a term; ctx ends with it.
func (e *Elector) started(ctx context.Context) {
	e.mu.Lock()
	e.term = ctx
	e.leader = e.cfg.Identity
	e.notifyLocked()
	e.mu.Unlock()
	e.log.Info("leading", "lease", e.cfg.Name, "replica", e.cfg.Identity)
}

// stopped ends the term, if there was one.
func (e *Elector) stopped() {
	e.mu.Lock()
	was := e.term != nil
	e.term = nil
	e.notifyLocked()
	e.mu.Unlock()
	if was {
		e.log.Info("no longer leading", "lease", e.cfg.Name, "replica", e.cfg.Identity)
	}
}

// observed keeps the identity of the replica seen holding the Lease.
func (e *Elector) observed(identity string) {
	e.mu.Lock()
	changed := e.leader != identity
	e.leader = identity
	e.mu.Unlock()
	if changed && identity != e.cfg.Identity {
		e.log.Info("leader changed", "lease", e.cfg.Name, "leader", identity)
	}
}

// notifyLocked wakes whoever waits for a change of term.
func (e *Elector) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// await returns the context of this replica's term once it leads, or
// false when ctx ends first.
func (e *Elector) await(ctx context.Context) (context.Context, bool) {
	for {
		e.mu.Lock()
		term, changed := e.term, e.changed
		e.mu.Unlock()
		if term != nil && term.Err() == nil {
			return term, true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-changed:
		}
	}
}

// Gate returns a Runner that runs r only while this replica leads: it
// waits for a term, runs r with a context that ends with the term (or
// with its own), and waits for the next term when r has returned. So r's
// Run may be called more than once, never twice at a time. An error from
// r ends the gated runner with it.
func (e *Elector) Gate(r Runner) Runner {
	return gated{e: e, r: r}
}

// gated runs r during each term of e.
type gated struct {
	e *Elector
	r Runner
}

// Run runs g.r in every term until ctx ends, then returns nil.
func (g gated) Run(ctx context.Context) error {
	for {
		term, ok := g.e.await(ctx)
		if !ok {
			return nil
		}
		if err := g.runTerm(ctx, term); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// runTerm runs g.r until term or ctx ends. A runner that returns early
// is not restarted within the same term.
func (g gated) runTerm(ctx, term context.Context) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(term, cancel)
	defer stop()
	if err := g.r.Run(rctx); err != nil {
		return err
	}
	<-rctx.Done()
	return nil
}

// watchedLock is the Lease lock the election goes through. It notes the
// record each read or write saw and when that record last changed, as
// client-go's elector does internally, so that Leader can tell a Lease
// whose holder stopped renewing it.
type watchedLock struct {
	resourcelock.Interface

	// mu guards the fields below.
	mu sync.Mutex
	// rec is the record last seen; changed is when it last changed, by
	// this replica's clock.
	rec     resourcelock.LeaderElectionRecord
	changed time.Time
}

// Get reads the record, noting it.
func (l *watchedLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	r, raw, err := l.Interface.Get(ctx)
	if err == nil {
		l.note(*r)
	}
	return r, raw, err
}

// Create creates the record, noting it.
func (l *watchedLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, r)
	if err == nil {
		l.note(r)
	}
	return err
}

// Update writes the record, noting it.
func (l *watchedLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Update(ctx, r)
	if err == nil {
		l.note(r)
	}
	return err
}

// note keeps r, and the time, when it differs from the record last seen.
func (l *watchedLock) note(r resourcelock.LeaderElectionRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.HolderIdentity != l.rec.HolderIdentity || !r.RenewTime.Equal(&l.rec.RenewTime) ||
		r.LeaseDurationSeconds != l.rec.LeaseDurationSeconds {
		l.rec, l.changed = r, time.Now()
	}
}

// holder returns the holder of the record last seen, or "" when there is
// none or its lease lapsed by now.
func (l *watchedLock) holder(now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lease := time.Duration(l.rec.LeaseDurationSeconds) * time.Second
	if l.rec.HolderIdentity == "" || now.After(l.changed.Add(lease)) {
		return ""
	}
	return l.rec.HolderIdentity
}
