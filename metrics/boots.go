package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rackboot/rackboot/inventory"
)

// readyBuckets span a warm reboot into an installed OS (a minute or two)
// to a slow install over a congested link (an hour), in seconds.
var readyBuckets = []float64{30, 60, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 2700, 3600}

// Bounds of the boots followed at once: past maxOpen, boots open longer
// than maxAge (which no real boot takes) are dropped to make room.
const (
	maxOpen = 10000
	maxAge  = 24 * time.Hour
)

// attempt is one boot of a machine, from its first event to Ready.
type attempt struct {
	start time.Time
	// provisioned is set when a provision-started began the attempt;
	// powered once a power-on event was seen in it.
	provisioned, powered bool
}

// boots times each machine from the start of its current boot attempt
// to node-ready. A boot attempt starts with
//
//   - provision-started, always;
//   - a successful bmc-power on, cycle or reset, unless it is the first
//     one of an attempt that provision-started began (the reprovision's
//     own power cycle);
//   - else the first dhcp-discover or dhcp-offer while no attempt is
//     open, as after the previous node-ready.
//
// Only Machines.Run calls its methods, so it needs no lock.
type boots struct {
	hist prometheus.Histogram
	open map[string]attempt // by machine key
}

func newBoots() *boots {
	return &boots{
		hist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rackboot_power_on_to_ready_seconds",
			Help: "Time from the start of a machine's boot attempt (provision, BMC power on, " +
				"or first DHCP packet) to its Node turning Ready.",
			Buckets: readyBuckets,
		}),
		open: make(map[string]attempt),
	}
}

// see takes event e of the machine called key.
func (b *boots) see(key string, e inventory.Event) {
	a, open := b.open[key]
	switch e.Kind {
	case inventory.EventProvisionStarted:
		b.begin(key, attempt{start: e.Time, provisioned: true})
	case inventory.EventBMCPower:
		switch {
		case !poweredOn(e.Detail):
		case open && a.provisioned && !a.powered:
			a.powered = true
			b.open[key] = a
		default:
			b.begin(key, attempt{start: e.Time, powered: true})
		}
	case inventory.EventDHCPDiscover, inventory.EventDHCPOffer:
		if !open {
			b.begin(key, attempt{start: e.Time})
		}
	case inventory.EventNodeReady:
		if open {
			delete(b.open, key)
			if d := e.Time.Sub(a.start); d >= 0 {
				b.hist.Observe(d.Seconds())
			}
		}
	}
}

// begin opens attempt a of key, replacing any open one, within maxOpen.
func (b *boots) begin(key string, a attempt) {
	if _, ok := b.open[key]; !ok && len(b.open) >= maxOpen {
		b.expire(a.start.Add(-maxAge))
		if len(b.open) >= maxOpen {
			return
		}
	}
	b.open[key] = a
}

// expire drops the attempts that started before cutoff.
func (b *boots) expire(cutoff time.Time) {
	for k, a := range b.open {
		if a.start.Before(cutoff) {
			delete(b.open, k)
		}
	}
}

// forget drops every open attempt and returns how many there were.
func (b *boots) forget() int {
	n := len(b.open)
	clear(b.open)
	return n
}

// poweredOn reports whether a bmc-power event's detail, as package bmc
// writes it ("by alice: cycle via redfish: ok in 2.1s: ..."), tells of a
// power on, cycle or reset that succeeded.
func poweredOn(detail string) bool {
	if !strings.Contains(detail, ": ok in ") {
		return false
	}
	for _, a := range []string{"on", "cycle", "reset"} {
		if strings.Contains(detail, ": "+a+" via ") {
			return true
		}
	}
	return false
}
