package bmc

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts a Controller's BMC operations and times them, for
// Prometheus. Make it with NewMetrics and hand it over in Config.Metrics.
// A nil *Metrics is valid and counts nothing. Its methods are safe for
// concurrent use.
type Metrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// durationBuckets span a status read over IPMI on a LAN (tens of
// milliseconds) to a soft power off that waits out its grace period
// (minutes), in seconds.
var durationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// NewMetrics makes the BMC collectors and registers them with reg (none
// when reg is nil):
//
//	rackboot_bmc_calls_total{operation,result}
//	rackboot_bmc_call_duration_seconds{operation}
//
// operation is a power action (status, on, off, cycle, reset) or
// pxe-once or pxe-persistent; result is ok or the kind of failure
// (see result). It panics, as prometheus.Registerer.MustRegister does,
// when reg holds them already.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_bmc_calls_total",
			Help: "BMC operations run, by operation and result (ok or the kind of failure).",
		}, []string{"operation", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rackboot_bmc_call_duration_seconds",
			Help:    "Time a BMC operation took, waiting for the BMC included, by operation.",
			Buckets: durationBuckets,
		}, []string{"operation"}),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.duration)
	}
	return m
}

// observe counts one operation called op that took d and ended with err.
func (m *Metrics) observe(op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(op, result(err)).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
}

// results names the sentinels for the result label.
var results = []struct {
	err  error
	name string
}{
	{ErrCredentials, "credentials"},
	{ErrTimeout, "timeout"},
	{ErrUnauthorized, "unauthorized"},
	{ErrSessionLimit, "session_limit"},
	{ErrTLS, "tls"},
	{ErrNotKept, "not_kept"},
}

// result names the outcome of an operation: "ok", the kind of error it
// wraps, or "error" for a BMC failure of no known kind.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	for _, r := range results {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "error"
}
