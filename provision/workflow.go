package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

// Defaults of Config.
const (
	DefaultAttempts     = 2
	DefaultMaxInFlight  = 8
	DefaultMaxQueued    = 1024
	DefaultPollInterval = 2 * time.Second
	DefaultRescan       = 2 * time.Second
)

// Errors of Submit, for callers to branch on.
var (
	// ErrBusy: a machine is already queued or being reprovisioned.
	ErrBusy = errors.New("already being reprovisioned")
	// ErrQueueFull: the queue holds Config.MaxQueued machines.
	ErrQueueFull = errors.New("reprovision queue full")
	// ErrStopped: Run has returned.
	ErrStopped = errors.New("reprovisioning has stopped")
)

// ErrNoNode is what a Drainer returns, wrapped, for a machine that has
// no Node in the cluster: there is nothing to drain, and the reprovision
// goes on.
var ErrNoNode = errors.New("machine has no node")

// Config is the configuration of a Workflow. The zero value is usable.
type Config struct {
	// Stages are what the workflow waits for after powering a machine
	// on, in order; nil means DefaultStages().
	Stages []Stage
	// Attempts is how many times a machine is tried: the first attempt
	// and the retries, each of which starts a new generation and power
	// cycles again. Zero means DefaultAttempts (one retry); 1 means no
	// retry. A machine without a BMC gets one attempt.
	Attempts int
	// MaxInFlight caps the machines being reprovisioned at once, across
	// all batches; zero means DefaultMaxInFlight.
	MaxInFlight int
	// MaxQueued caps the machines waiting for a slot; zero means
	// DefaultMaxQueued. Submit refuses more with ErrQueueFull.
	MaxQueued int
	// PollInterval is how often a machine's timeline is read while the
	// workflow waits for a stage; zero means DefaultPollInterval.
	PollInterval time.Duration
	// Drainer, if set, cordons and drains a machine's Node at the start
	// of each attempt, before the BMC sets the boot device; nil skips
	// the step.
	Drainer Drainer
	// Replica names this replica in saved jobs and on the timeline of
	// a job it takes over from another; empty with a single rackboot.
	Replica string
	// Leading reports whether this replica leads, when several share
	// one store: Run then runs on the leader only, and Submit on a
	// follower saves the jobs to the Journal for the leader to adopt.
	// Nil means this rackboot is alone, always leading.
	Leading func() bool
	// Rescan is how often Run rereads the Journal for jobs saved by
	// other replicas; zero means DefaultRescan.
	Rescan time.Duration
}

// Drainer moves the workload off a machine's Node before the machine is
// reinstalled. The registration tracker implements it (through an adapter
// in cmd/rackboot). Drain is called from many machines' workflows at once.
type Drainer interface {
	// Drain cordons the Node of the machine called machine and evicts
	// its pods, bounded by its own timeout. It returns an error wrapping
	// ErrNoNode when the machine has no Node.
	Drain(ctx context.Context, machine string) error
}

// Validate reports the first bad field of c, naming it.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"Attempts", c.Attempts < 0},
		{"MaxInFlight", c.MaxInFlight < 0},
		{"MaxQueued", c.MaxQueued < 0},
		{"PollInterval", c.PollInterval < 0},
		{"Rescan", c.Rescan < 0},
	} {
		if f.bad {
			return fmt.Errorf("%s: must not be negative", f.name)
		}
	}
	if c.Stages == nil {
		return nil
	}
	if err := CheckStages(c.Stages); err != nil {
		return fmt.Errorf("%s: %w", "Stages", err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Stages == nil {
		c.Stages = DefaultStages()
	}
	c.Attempts = cmpOr(c.Attempts, DefaultAttempts)
	c.MaxInFlight = cmpOr(c.MaxInFlight, DefaultMaxInFlight)
	c.MaxQueued = cmpOr(c.MaxQueued, DefaultMaxQueued)
	c.PollInterval = cmpOr(c.PollInterval, DefaultPollInterval)
	c.Rescan = cmpOr(c.Rescan, DefaultRescan)
	return c
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Store is what the workflow reads and records. *inventory.Inventory
// implements it. Its methods are called from many machines' workflows at
// once.
type Store interface {
	// Lookup returns the declared machine owning mac and its profile.
	Lookup(mac string) (inventory.Machine, inventory.Profile, bool)
	// NewGeneration starts the next provisioning generation of name.
	NewGeneration(name string) (inventory.Provision, error)
	// Record appends e to the timeline of mac.
	Record(mac string, e inventory.Event) (inventory.Event, error)
	// TimelineSince returns the events of mac whose Seq is above after.
	TimelineSince(mac string, after uint64) ([]inventory.Event, error)
}

// BMC drives machines' BMCs; *bmc.Controller implements it. Each call
// records itself on the machine's timeline and is bounded by the
// controller's own timeout.
type BMC interface {
	// Power runs a power action on m's BMC.
	Power(ctx context.Context, m inventory.Machine, a bmc.Action, who string) (bmc.Result, error)
	// BootNetwork sets m's next boot (or every boot, if persistent) to
	// the network.
	BootNetwork(ctx context.Context, m inventory.Machine, persistent bool,
		who string) (bmc.Result, error)
}

var _ BMC = (*bmc.Controller)(nil)

// Workflow reprovisions machines: a queue of submitted batches and at
// most Config.MaxInFlight workers. It is safe for concurrent use.
type Workflow struct {
	cfg Config
	st  Store
	// journal saves jobs in flight; nil when st is not a Journal.
	journal Journal
	bmc     BMC // nil: no machine can be powered
	log     *slog.Logger
	wake    chan struct{} // a worker finished or a batch arrived

	mu sync.Mutex
	// guarded by mu
	running  bool            // Run runs
	stopped  bool            // Run returned: no more work is taken
	batches  []*batch        // in submission order, with work left
	jobs     map[string]*job // the latest job of each machine submitted
	inFlight int
	queued   int
}

// batch is one submission: its machines start in order, at most limit
// at once.
type batch struct {
	limit   int
	queue   []*job
	running int
}

// New checks cfg and returns a Workflow recording to st and powering
// machines through b. b may be nil: machines are then left to boot by
// themselves (by hand). A nil log is silent.
func New(cfg Config, st Store, b BMC, log *slog.Logger) (*Workflow, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	if st == nil {
		return nil, errors.New("provision: a Store is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	journal, _ := st.(Journal)
	return &Workflow{cfg: cfg.withDefaults(), st: st, journal: journal, bmc: b, log: log,
		wake: make(chan struct{}, 1), jobs: map[string]*job{}}, nil
}

// Run first queues the jobs the store's Journal kept from before a
// restart, then starts queued machines as slots free up, until ctx ends;
// every Config.Rescan it adopts the jobs other replicas saved. Machines
// in flight then stop where they are: with a Journal they are left,
// saved, for the next Run (here or on another replica) to resume
// (StateStopped); without one they are recorded as failed ("rackboot
// stopped"). Queued ones are dropped, or, with Config.Leading, saved for
// the next leader. It returns nil on a clean stop. Run may be called
// again once it returned, as a replica that leads again does.
func (w *Workflow) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("provision: Run is already running")
	}
	w.running, w.stopped = true, false
	w.mu.Unlock()
	w.resumeSaved()
	tick := time.NewTicker(w.cfg.Rescan)
	defer tick.Stop()

	var wg sync.WaitGroup
	for {
		w.dispatch(ctx, &wg)
		select {
		case <-ctx.Done():
			w.stop()
			wg.Wait()
			w.mu.Lock()
			w.running = false
			w.mu.Unlock()
			return nil
		case <-tick.C:
			w.resumeSaved()
		case <-w.wake:
		}
	}
}

// dispatch starts the queued jobs that have a slot, batch by batch.
func (w *Workflow) dispatch(ctx context.Context, wg *sync.WaitGroup) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.batches {
		for len(b.queue) > 0 && b.running < b.limit && w.inFlight < w.cfg.MaxInFlight {
			j := b.queue[0]
			b.queue = b.queue[1:]
			b.running++
			w.inFlight++
			w.queued--
			j.State = StateRunning
			if j.Started.IsZero() {
				j.Started = time.Now().UTC()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.provision(ctx, j)
				w.finish(b)
			}()
		}
	}
	w.batches = slices.DeleteFunc(w.batches, func(b *batch) bool {
		return len(b.queue) == 0 && b.running == 0
	})
}

// finish frees the slot of a job that ended.
func (w *Workflow) finish(b *batch) {
	w.mu.Lock()
	b.running--
	w.inFlight--
	w.mu.Unlock()
	w.poke()
}

// poke wakes Run without blocking.
func (w *Workflow) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// stop refuses new work and drops the queue.
func (w *Workflow) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	var dropped []string
	for _, b := range w.batches {
		for _, j := range b.queue {
			if w.handOverLocked(j) {
				j.State, j.Error = StateStopped, "rackboot stopped leading; saved for the next leader"
				j.Finished = time.Now().UTC()
				continue
			}
			j.State, j.Error = StateFailed, "dropped from the queue: rackboot stopped"
			j.Finished = time.Now().UTC()
			dropped = append(dropped, j.Machine)
		}
		b.queue = nil
	}
	w.queued = 0
	if len(dropped) > 0 {
		w.log.Info("reprovisioning stopped; queued machines dropped",
			"machines", strings.Join(dropped, ","))
	}
}

// Submit queues ms for reprovisioning as one batch, in order, to start
// once Run runs: at most
// maxInFlight of them at once (zero: Config.MaxInFlight, which also caps
// all batches together); the next starts when one finishes. who says who
// asked, for the timeline. It refuses the whole batch, wrapping ErrBusy,
// ErrQueueFull or ErrStopped, if any machine cannot be queued. It returns
// the queued jobs.
func (w *Workflow) Submit(ms []inventory.Machine, maxInFlight int, who string) ([]Job, error) {
	if err := checkBatch(ms, maxInFlight); err != nil {
		return nil, err
	}
	if w.following() {
		return w.submitToLeader(ms, maxInFlight, who)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.admitLocked(ms); err != nil {
		return nil, err
	}
	b := &batch{limit: cmpOr(maxInFlight, w.cfg.MaxInFlight)}
	out := make([]Job, len(ms))
	for i, m := range ms {
		j := &job{Job: Job{Machine: m.Name, State: StateQueued, Attempts: w.attempts(m),
			By: who, Queued: time.Now().UTC()}, m: m, limit: maxInFlight}
		w.jobs[m.Name] = j
		b.queue = append(b.queue, j)
		out[i] = j.Job
	}
	w.batches = append(w.batches, b)
	w.queued += len(ms)
	w.poke()
	return out, nil
}

// checkBatch refuses an empty batch, a machine without a MAC or listed
// twice, and a negative limit.
func checkBatch(ms []inventory.Machine, maxInFlight int) error {
	if len(ms) == 0 {
		return errors.New("no machines to reprovision")
	}
	if maxInFlight < 0 {
		return fmt.Errorf("max in flight %d: must not be negative", maxInFlight)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if len(m.MACs) == 0 {
			return fmt.Errorf("%s: no mac", m.Name)
		}
		if seen[m.Name] {
			return fmt.Errorf("%s: listed twice", m.Name)
		}
		seen[m.Name] = true
	}
	return nil
}

// admitLocked says why ms cannot be queued now, or nil.
func (w *Workflow) admitLocked(ms []inventory.Machine) error {
	if w.stopped {
		return ErrStopped
	}
	for _, m := range ms {
		if j := w.jobs[m.Name]; j != nil && !j.State.Finished() {
			return fmt.Errorf("%s: %w (%s)", m.Name, ErrBusy, j.State)
		}
	}
	if w.queued+len(ms) > w.cfg.MaxQueued {
		return fmt.Errorf("%w: %d machines wait, at most %d", ErrQueueFull, w.queued, w.cfg.MaxQueued)
	}
	return nil
}

// attempts is how many attempts m gets: without a BMC to power cycle it,
// a retry would change nothing.
func (w *Workflow) attempts(m inventory.Machine) int {
	if !w.canPower(m) {
		return 1
	}
	return w.cfg.Attempts
}

func (w *Workflow) canPower(m inventory.Machine) bool { return w.bmc != nil && m.BMC != nil }
