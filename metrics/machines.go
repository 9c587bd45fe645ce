package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rackboot/rackboot/inventory"
)

// cacheFor is how long one reading of the store serves scrapes: several
// Prometheus servers scraping every few seconds read the store once.
const cacheFor = 5 * time.Second

// watchBuffer is how many events Run may fall behind the store before
// its watcher is dropped as lagged.
const watchBuffer = 1024

// Inventory is what the metrics read of rackboot's inventory.
// *inventory.Inventory implements it. Its methods are called from the
// scrape and from Run at once.
type Inventory interface {
	// Catalog returns the declared machines, to fold a machine's MACs
	// into one; nil means none are declared.
	Catalog() *inventory.Catalog
	// Statuses returns the status of every MAC the store has seen.
	Statuses() ([]inventory.Status, error)
	// Watch returns a watcher of the events recorded from now on,
	// dropped as lagged when more than buf wait undelivered.
	Watch(buf int) *inventory.Watcher
}

// Machines exports rackboot_machines{state}, read from the store at
// scrape time, and rackboot_power_on_to_ready_seconds, observed from the
// event stream while Run runs. Make it with New.
type Machines struct {
	inv   Inventory
	log   *slog.Logger
	desc  *prometheus.Desc
	boots *boots
	ttl   time.Duration
	now   func() time.Time

	mu sync.Mutex
	// guarded by mu: the last reading of the store and when it was made.
	counts map[inventory.State]int
	readAt time.Time
}

// New makes the machine-level collectors over inv and registers them
// with reg (none when reg is nil). A nil log is silent. It panics, as
// prometheus.Registerer.MustRegister does, when reg holds them already.
func New(inv Inventory, reg prometheus.Registerer, log *slog.Logger) *Machines {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Machines{
		inv: inv, log: log, boots: newBoots(), ttl: cacheFor, now: time.Now,
		desc: prometheus.NewDesc("rackboot_machines",
			"Machines by state; a machine's MACs count once, in the state of its newest event.",
			[]string{"state"}, nil),
	}
	if reg != nil {
		reg.MustRegister(m, m.boots.hist)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Machines) Describe(ch chan<- *prometheus.Desc) { ch <- m.desc }

// Collect implements prometheus.Collector: one gauge per state, from a
// reading of the store at most cacheFor old. A failed reading is an
// invalid metric, which the scrape reports.
func (m *Machines) Collect(ch chan<- prometheus.Metric) {
	counts, err := m.read()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(m.desc, err)
		return
	}
	// Every state is reported, zero or not, so that no series vanishes.
	for _, s := range inventory.States() {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	for s, n := range counts {
		if !s.Known() {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, float64(n), string(s))
		}
	}
}

// read returns the machines by state, from the cache while it is fresh.
// Readers share it and must not change it.
func (m *Machines) read() (map[inventory.State]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.counts != nil && now.Sub(m.readAt) < m.ttl {
		return m.counts, nil
	}
	sts, err := m.inv.Statuses()
	if err != nil {
		return nil, err
	}
	m.counts, m.readAt = countStates(sts, m.inv.Catalog()), now
	return m.counts, nil
}

// countStates counts machines by state. The MACs of one declared
// machine count once, in the state of the newest event among them, as
// the machine API shows it; every undeclared MAC is a machine of its own.
// A MAC without a state, known only by an operator's decisions (accepted,
// rejected), was never seen on the network and is not counted.
func countStates(sts []inventory.Status, c *inventory.Catalog) map[inventory.State]int {
	newest := make(map[string]inventory.Status, len(sts))
	for _, st := range sts {
		if st.State == "" {
			continue
		}
		k := machineKey(c, st.MAC)
		if old, ok := newest[k]; !ok || st.LastEvent.Seq > old.LastEvent.Seq {
			newest[k] = st
		}
	}
	counts := make(map[inventory.State]int)
	for _, st := range newest {
		counts[st.State]++
	}
	return counts
}

// machineKey names the machine mac belongs to: the declared machine, or
// the MAC itself.
func machineKey(c *inventory.Catalog, mac string) string {
	if c != nil {
		if m, ok := c.Machine(mac); ok {
			return "machine/" + m.Name
		}
	}
	return "mac/" + mac
}

// Run follows the store's events and observes each machine's time from
// power-on to Ready, until ctx ends; then it returns nil. When it falls
// behind the store it watches again: the boots in flight are forgotten
// rather than timed from a start whose end it may have missed.
func (m *Machines) Run(ctx context.Context) error {
	for {
		w := m.inv.Watch(watchBuffer)
		lagged := m.follow(ctx, w)
		w.Close()
		if !lagged {
			return nil
		}
		n := m.boots.forget()
		m.log.Debug("metrics fell behind the event stream; watching again", "machines", n)
	}
}

// follow hands w's events to the boot timer until ctx ends (false) or w
// is closed; it reports whether w was closed for lagging.
func (m *Machines) follow(ctx context.Context, w *inventory.Watcher) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case n, ok := <-w.C():
			if !ok {
				return w.Lagged()
			}
			m.boots.see(machineKey(m.inv.Catalog(), n.MAC), n.Event)
		}
	}
}
