package web

import "github.com/prometheus/client_golang/prometheus"

// Kinds of iPXE script, the kind label of
// rackboot_http_scripts_served_total.
const (
	scriptChain   = "chain"   // /boot.ipxe, the same for every client
	scriptMachine = "machine" // a declared machine's boot script
	scriptLocal   = "local"   // an installed machine's local-boot script
	scriptUnknown = "unknown" // the wait-and-retry script of an undeclared MAC
)

// Results of /ignition, the result label of
// rackboot_ignition_renders_total.
const (
	ignitionServed   = "served"    // rendered and sent
	ignitionFailed   = "failed"    // the render failed: a 500
	ignitionRefused  = "refused"   // wrong address, wrong UUID or fetched already: a 403
	ignitionNotFound = "not_found" // not declared, or its profile has no Ignition: a 404
)

// Metrics counts what the boot listener serves, for Prometheus. Make it
// with NewMetrics and hand it over with Server.SetMetrics. A nil *Metrics
// is valid and counts nothing. Its methods are safe for concurrent use.
type Metrics struct {
	scripts  *prometheus.CounterVec
	bytes    prometheus.Counter
	ignition *prometheus.CounterVec
}

// NewMetrics makes the HTTP collectors and registers them with reg (none
// when reg is nil):
//
//	rackboot_http_scripts_served_total{kind}
//	rackboot_http_asset_bytes_total
//	rackboot_ignition_renders_total{result}
//
// It panics, as prometheus.Registerer.MustRegister does, when reg holds
// them already.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		scripts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_http_scripts_served_total",
			Help: "iPXE scripts served, by kind.",
		}, []string{"kind"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rackboot_http_asset_bytes_total",
			Help: "Body bytes of kernels, initrds and HTTP Boot loaders sent.",
		}),
		ignition: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_ignition_renders_total",
			Help: "Ignition config requests, by result.",
		}, []string{"result"}),
	}
	for _, k := range []string{scriptChain, scriptMachine, scriptLocal, scriptUnknown} {
		m.scripts.WithLabelValues(k)
	}
	for _, r := range []string{ignitionServed, ignitionFailed, ignitionRefused, ignitionNotFound} {
		m.ignition.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.scripts, m.bytes, m.ignition)
	}
	return m
}

// SetMetrics makes s count into m; nil counts nothing. Call it before the
// server handles requests.
func (s *Server) SetMetrics(m *Metrics) { s.metrics = m }

// script counts one script of kind served.
func (m *Metrics) script(kind string) {
	if m == nil {
		return
	}
	m.scripts.WithLabelValues(kind).Inc()
}

// sent counts n body bytes of a file.
func (m *Metrics) sent(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.bytes.Add(float64(n))
}

// ignitionResult counts one /ignition request that ended with result.
func (m *Metrics) ignitionResult(result string) {
	if m == nil {
		return
	}
	m.ignition.WithLabelValues(result).Inc()
}
