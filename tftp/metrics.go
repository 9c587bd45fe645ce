package tftp

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a request, the result label of rackboot_tftp_transfers_total.
// Each well-formed RRQ or WRQ gets exactly one; a retransmitted RRQ of a
// transfer in progress gets none.
const (
	resultOK      = "ok"      // the last block was acknowledged
	resultProbe   = "probe"   // a size probe: the client ended it after the OACK
	resultFailed  = "failed"  // started and failed (see errors_total)
	resultRefused = "refused" // answered with an ERROR before any data
	resultBusy    = "busy"    // turned away by MaxTransfers or MaxPerClient
)

// Reasons of rackboot_tftp_errors_total.
const (
	reasonMalformed  = "malformed"        // a packet that could not be decoded or had no place
	reasonNotFound   = "not_found"        // no root holds the file
	reasonAccess     = "access_violation" // a path leaving its root, or unreadable
	reasonWrite      = "write"            // a WRQ: rackboot is read-only
	reasonMode       = "mode"             // mail mode
	reasonBusy       = "busy"             // MaxTransfers reached
	reasonClientBusy = "client_busy"      // MaxPerClient reached
	reasonTimeout    = "timeout"          // the client stopped answering
	reasonClient     = "client_error"     // the client sent an ERROR mid-transfer
	reasonIO         = "io"               // a file or socket error on rackboot's side
)

// Metrics counts a Server's transfers, bytes and errors for Prometheus.
// Make it with NewMetrics and hand it over in Config.Metrics. A nil
// *Metrics is valid and counts nothing. Its methods are safe for
// concurrent use.
type Metrics struct {
	transfers *prometheus.CounterVec
	bytes     prometheus.Counter
	errors    *prometheus.CounterVec
}

// NewMetrics makes the TFTP collectors and registers them with reg (none
// when reg is nil):
//
//	rackboot_tftp_transfers_total{result}
//	rackboot_tftp_bytes_total
//	rackboot_tftp_errors_total{reason}
//
// It panics, as prometheus.Registerer.MustRegister does, when reg holds
// them already.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_tftp_transfers_total",
			Help: "TFTP read requests, by how they ended.",
		}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rackboot_tftp_bytes_total",
			Help: "File bytes TFTP clients acknowledged, counted when each transfer ends.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_tftp_errors_total",
			Help: "TFTP requests refused, transfers failed and packets malformed, by reason.",
		}, []string{"reason"}),
	}
	for _, r := range []string{resultOK, resultProbe, resultFailed, resultRefused, resultBusy} {
		m.transfers.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.transfers, m.bytes, m.errors)
	}
	return m
}

// ended counts a request that ended with result; reason is "" unless
// the result is an error.
func (m *Metrics) ended(result, reason string) {
	if m == nil {
		return
	}
	m.transfers.WithLabelValues(result).Inc()
	if reason != "" {
		m.errors.WithLabelValues(reason).Inc()
	}
}

// sent counts n file bytes acknowledged.
func (m *Metrics) sent(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.bytes.Add(float64(n))
}

// malformed counts a packet that makes no sense.
func (m *Metrics) malformed() {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(reasonMalformed).Inc()
}

// failure names the reason a started transfer failed with err.
func failure(err error) string {
	var ce *clientError
	switch {
	case errors.Is(err, errTimeout):
		return reasonTimeout
	case errors.As(err, &ce):
		return reasonClient
	}
	return reasonIO
}
