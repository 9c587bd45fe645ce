package kubestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/rackboot/rackboot/inventory"
)

// ErrUnavailable is wrapped by the errors of synchronous writes that
// could not reach the API server. The write did not happen (or its
// outcome is unknown); the caller may retry later. It is
// inventory.ErrUnavailable, so that callers need not import kubestore.
var ErrUnavailable = inventory.ErrUnavailable

// Config configures a Store.
type Config struct {
	// Config reaches the API server that keeps the state. Its QPS and
	// Burst, when zero, are raised from client-go's defaults to 1000 and
	// 2000: authoritative DHCP makes one request per new lease.
	Config *rest.Config
	// Namespace holds the state; required.
	Namespace string
	// Replica names this rackboot in Events and logs; required.
	Replica string
	// Log receives the store's logs; nil means none.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is rackboot's state in a Kubernetes API server. Make one with New
// and run it with Run; it is safe for concurrent use.
type Store struct {
	ns, replica string
	log         *slog.Logger
	now         func() time.Time

	client   rest.Interface       // rackboot.io/v1alpha1
	core     kubernetes.Interface // ConfigMaps, Events, /readyz
	inf      informers            // Machines, Profiles, the rejections
	leases   *leases              // DHCPLeases (lease.go)
	clock    seqClock             // event Seq numbers
	hub      inventory.Hub        // watchers of recorded events
	mem      *memory              // timelines, statuses, addresses
	local    localProvision       // provisioning of machines without a Machine object
	writer   *statusWriter        // coalesced status writes
	events   *eventRecorder       // Kubernetes Events
	health   health               // degraded or not
	change   changeHook           // OnChange
	index    macIndex             // MAC -> Machine name
	accepted acceptances          // what ReportLeftOut was told
	ready    chan struct{}        // closed by Run once started
	once     sync.Once
}

var _ inventory.Backend = (*Store)(nil)

// New returns a Store over c.Namespace; nothing is read until Run.
func New(c Config) (*Store, error) {
	if c.Config == nil || c.Namespace == "" || c.Replica == "" {
		return nil, errors.New("kubestore: Config, Namespace and Replica are required")
	}
	client, core, err := newClients(c.Config)
	if err != nil {
		return nil, err
	}
	s := &Store{
		ns: c.Namespace, replica: c.Replica, log: c.Log, now: c.Now,
		client: client, core: core, mem: newMemory(), ready: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.clock.now = s.now
	s.health.now = s.now
	s.leases = newLeases(client, s.ns, s.now, s.log)
	s.leases.subscribe(s.leaseSeen)
	s.inf = newInformers(client, core, s.ns)
	s.inf.addHandlers(s)
	s.followRefusals()
	s.writer = newStatusWriter(s)
	s.events = newEventRecorder(core, s.ns, s.replica)
	return s, nil
}

// stopGrace bounds how long Run waits for its parts once ctx ended.
const stopGrace = 5 * time.Second

// Run runs the informers, the status writer, the event sink and the
// health probe until ctx ends, then returns nil, within stopGrace even
// if an informer does not stop (it says so in the log): a replica that
// never synced must still stop on SIGTERM.
func (s *Store) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, run := range []func(context.Context){
		s.inf.run, s.writer.run, s.change.run, s.probe,
		func(ctx context.Context) {
			if err := s.leases.run(ctx); err != nil {
				s.log.Error("kubestore: leases stopped", "err", err)
			}
		},
	} {
		wg.Go(func() { run(ctx) })
	}
	s.events.start()
	s.once.Do(func() { close(s.ready) })
	<-ctx.Done()
	stopped := make(chan struct{})
	go func() {
		s.events.stop()
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(stopGrace):
		s.log.Error("kubestore: informers still running after the store stopped", "err",
			fmt.Errorf("not stopped within %v", stopGrace))
	}
	return nil
}

// WaitSynced blocks until Run has started and every informer has synced,
// or ctx ends.
func (s *Store) WaitSynced(ctx context.Context) error {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the store to start: %w", ctx.Err())
	}
	synced := append(s.inf.synced(), s.leases.synced)
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("waiting for the informers to sync: %w", ctx.Err())
	}
	return nil
}

// OnChange registers fn, called (debounced, about 100 ms after the last
// change) whenever Machines, Profiles or rejections change, by this
// replica or any other. cmd wires it to Inventory.Refresh.
func (s *Store) OnChange(fn func()) { s.change.add(fn) }
