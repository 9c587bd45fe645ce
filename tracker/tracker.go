package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Defaults of Config and Deadlines.
const (
	DefaultResync       = 10 * time.Minute
	DefaultRescan       = 30 * time.Second
	DefaultDrainTimeout = 5 * time.Minute

	DefaultKubeletDeadline  = 20 * time.Minute
	DefaultApprovalDeadline = 10 * time.Minute
	DefaultReadyDeadline    = 10 * time.Minute
)

// workers is how many machines and CSRs are handled at once.
const workers = 2

// Inventory is what the tracker reads and records of rackboot's machines.
// *inventory.Inventory implements it. Its methods are called from several
// goroutines at once.
type Inventory interface {
	// Catalog returns the declared machines and profiles in force.
	Catalog() *inventory.Catalog
	// Status returns the runtime status of mac, or inventory.ErrNotFound.
	Status(mac string) (inventory.Status, error)
	// MACByIP returns the MAC last seen with ip, or inventory.ErrNotFound.
	MACByIP(ip netip.Addr) (string, error)
	// Record appends e to the timeline of mac.
	Record(mac string, e inventory.Event) (inventory.Event, error)
	// Provision returns the provisioning record of the machine called
	// name.
	Provision(name string) (inventory.Provision, error)
}

// Revoker deletes the bootstrap tokens of a machine. *join.Minter
// implements it. Revoking a machine with no token is not an error.
type Revoker interface {
	Revoke(ctx context.Context, machine string) error
}

// Deadlines bound each stage a machine passes through after its Ignition
// config went out. A machine that stays in a stage longer goes failed with
// a diagnosis. Zero means the default.
type Deadlines struct {
	// Kubelet bounds ignition-served: the time from serving the config
	// to the kubelet's first client certificate request. It covers the
	// install, a reboot and the kubelet's start; zero means
	// DefaultKubeletDeadline.
	Kubelet time.Duration
	// Approval bounds csr-pending: from the client certificate request to
	// the Node object; zero means DefaultApprovalDeadline.
	Approval time.Duration
	// Ready bounds registered: from the Node object to NodeReady True;
	// zero means DefaultReadyDeadline.
	Ready time.Duration
}

// Config configures a Tracker.
type Config struct {
	// Client talks to the cluster (required). Its identity needs the
	// rights of deploy/rbac.yaml.
	Client kubernetes.Interface
	// Deadlines bound the stages; zero fields mean the defaults.
	Deadlines Deadlines
	// Resync is the informers' resync period; zero means DefaultResync.
	Resync time.Duration
	// Rescan is how often the tracker rereads rackboot's own store for
	// machines whose Ignition config just went out; zero means
	// DefaultRescan. It reads no API server. Notify skips the wait.
	Rescan time.Duration
	// DrainTimeout bounds Drain; zero means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics counts stage transitions for Prometheus; nil counts
	// nothing. Build it with NewMetrics.
	Metrics *Metrics
	// Leading reports whether this replica leads, when several rackboot
	// replicas share one store. Every replica follows the machines and
	// records their progress; only the leader approves or denies kubelet
	// serving CSRs and deletes bootstrap tokens (and uncordons drained
	// Nodes), and a new leader takes over the CSRs left undecided at its
	// next rescan. Nil means always leading.
	Leading func() bool
}

// Tracker follows machines to Ready Nodes. Create it with New and start it
// with Run; its query methods and Drain, Uncordon and DeleteNode are safe
// for concurrent use, with or without Run.
type Tracker struct {
	client    kubernetes.Interface
	inv       Inventory
	revoker   Revoker
	log       *slog.Logger
	deadlines Deadlines
	resync    time.Duration
	rescan    time.Duration
	drainFor  time.Duration
	now       func() time.Time
	metrics   *Metrics    // nil counts nothing
	leading   func() bool // never nil
	shared    bool        // Config.Leading was set: other replicas run too

	// queue holds the machines and CSRs to look at; Run shuts it down.
	queue workqueue.TypedRateLimitingInterface[key]
	// nodes and csrs are the informers' caches, set by Run before any
	// worker starts.
	nodes cache.Indexer
	csrs  cache.Indexer

	// mu guards the fields below.
	mu sync.Mutex
	// machines is the progress of every machine being followed, by name.
	machines map[string]*progress
	// unknown holds the Nodes that match no machine, by name.
	unknown map[string]bool
	// left holds the serving CSRs left to other approvers, by name, so
	// each is logged once.
	left map[string]bool
}

// New checks cfg and returns a Tracker over inv. revoker may be nil: then
// bootstrap tokens are left to expire. A nil log is silent.
func New(cfg Config, inv Inventory, revoker Revoker, log *slog.Logger) (*Tracker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if inv == nil {
		return nil, errors.New("tracker: inventory: missing")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{client: cfg.Client, inv: inv, revoker: revoker, log: log,
		deadlines: cfg.Deadlines.withDefaults(), now: cfg.Now,
		resync: orDefault(cfg.Resync, DefaultResync), rescan: orDefault(cfg.Rescan, DefaultRescan),
		drainFor: orDefault(cfg.DrainTimeout, DefaultDrainTimeout), queue: newQueue(),
		metrics: cfg.Metrics, leading: cfg.Leading, shared: cfg.Leading != nil,
		machines: map[string]*progress{}, unknown: map[string]bool{}, left: map[string]bool{}}
	if t.now == nil {
		t.now = time.Now
	}
	if t.leading == nil {
		t.leading = func() bool { return true }
	}
	return t, nil
}

// validate names the first bad field of c.
func (c Config) validate() error {
	if c.Client == nil {
		return errors.New("tracker config: client: missing")
	}
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"deadlines.kubelet", c.Deadlines.Kubelet}, {"deadlines.approval", c.Deadlines.Approval},
		{"deadlines.ready", c.Deadlines.Ready}, {"resync", c.Resync}, {"rescan", c.Rescan},
		{"drain timeout", c.DrainTimeout},
	}
	for _, f := range durations {
		if f.d < 0 {
			return fmt.Errorf("tracker config: %s: %v is negative", f.name, f.d)
		}
	}
	return nil
}

func (d Deadlines) withDefaults() Deadlines {
	return Deadlines{
		Kubelet:  orDefault(d.Kubelet, DefaultKubeletDeadline),
		Approval: orDefault(d.Approval, DefaultApprovalDeadline),
		Ready:    orDefault(d.Ready, DefaultReadyDeadline),
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Run watches the cluster and follows machines until ctx ends, then
// returns nil. It returns an error only when it cannot start. Call it
// once.
func (t *Tracker) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(t.client, t.resync)
	nodes := factory.Core().V1().Nodes().Informer()
	csrs := factory.Certificates().V1().CertificateSigningRequests().Informer()
	t.nodes, t.csrs = nodes.GetIndexer(), csrs.GetIndexer()
	defer t.queue.ShutDown()
	if err := t.watch(nodes, csrs); err != nil {
		return fmt.Errorf("tracker: setting up informers: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	t.log.Info("tracker waiting for the cluster's nodes and csrs")
	if !cache.WaitForCacheSync(ctx.Done(), nodes.HasSynced, csrs.HasSynced) {
		return nil
	}
	t.log.Info("tracker started", "nodes", len(t.nodes.ListKeys()))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { t.work(ctx) })
	}
	t.rescanLoop(ctx)
	t.queue.ShutDown()
	wg.Wait()
	return nil
}

// Notify makes the tracker look at the machine called name now, instead
// of at the next rescan; call it after serving the machine's Ignition
// config. Before Run the machine waits for Run.
func (t *Tracker) Notify(name string) {
	t.queue.Add(machineKey(name))
}

// rescanLoop queues every declared machine at once and then every Rescan,
// until ctx ends. It reads only rackboot's store: machines whose Ignition
// config went out since the last pass start being followed.
func (t *Tracker) rescanLoop(ctx context.Context) {
	tick := time.NewTicker(t.rescan)
	defer tick.Stop()
	for {
		for _, m := range t.inv.Catalog().Machines() {
			t.queue.Add(machineKey(m.Name))
		}
		t.queueUndecided()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// work handles queued keys until the queue shuts down. A failed key is
// retried with backoff.
func (t *Tracker) work(ctx context.Context) {
	for {
		k, quit := t.queue.Get()
		if quit {
			return
		}
		err := t.handle(ctx, k)
		switch {
		case err == nil:
			t.queue.Forget(k)
		case ctx.Err() != nil:
		default:
			t.log.Warn("tracker retrying", "key", k.String(), "err", err)
			t.queue.AddRateLimited(k)
		}
		t.queue.Done(k)
	}
}

func (t *Tracker) handle(ctx context.Context, k key) error {
	if k.csr {
		return t.reviewServing(ctx, k.name)
	}
	return t.reconcile(ctx, k.name)
}

// newQueue returns a work queue that retries a failed key with
// exponential backoff, 5 ms doubling to 1000 s.
func newQueue() workqueue.TypedRateLimitingInterface[key] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[key](),
		workqueue.TypedRateLimitingQueueConfig[key]{Name: "rackboot-tracker"})
}

// key is an item of the work queue: a machine's name or a CSR's.
type key struct {
	csr  bool
	name string
}

func machineKey(name string) key { return key{name: name} }
func csrKey(name string) key     { return key{csr: true, name: name} }

func (k key) String() string {
	if k.csr {
		return "csr/" + k.name
	}
	return "machine/" + k.name
}
