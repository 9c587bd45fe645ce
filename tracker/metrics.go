package tracker

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rackboot/rackboot/inventory"
)

// Metrics counts a Tracker's stage transitions for Prometheus. Make it
// with NewMetrics and hand it over in Config.Metrics. A nil *Metrics is
// valid and counts nothing. Its methods are safe for concurrent use.
type Metrics struct {
	transitions *prometheus.CounterVec
}

// NewMetrics makes the tracker's collector and registers it with reg
// (none when reg is nil):
//
//	rackboot_tracker_transitions_total{to}
//
// to is the state entered: csr-pending, registered, ready, degraded, or
// failed when a stage missed its deadline. It panics, as
// prometheus.Registerer.MustRegister does, when reg holds it already.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_tracker_transitions_total",
			Help: "Machines the registration tracker moved to a state, by that state.",
		}, []string{"to"}),
	}
	for _, s := range []inventory.State{inventory.StateCSRPending, inventory.StateRegistered,
		inventory.StateReady, inventory.StateDegraded, inventory.StateFailed} {
		m.transitions.WithLabelValues(string(s))
	}
	if reg != nil {
		reg.MustRegister(m.transitions)
	}
	return m
}

// entered counts one machine entering state s.
func (m *Metrics) entered(s inventory.State) {
	if m == nil {
		return
	}
	m.transitions.WithLabelValues(string(s)).Inc()
}
