package tftp

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// transfers runs two downloads with pin/tftp, a missing file, a path out
// of the root, a write, a size probe, a client abort and a malformed
// packet against a server counting into m.
func transfers(t *testing.T, m *Metrics) *testServer {
	ts := startServer(t, Config{Metrics: m}, nil, slog.LevelDebug)
	fetch(t, ts, pinPlain, "ipxe.efi")
	fetch(t, ts, pinOptions, "exact.bin")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pinPlain.get(ctx, ts.addr.Port(), "nothing.efi", filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("pin/tftp get nothing.efi succeeded, want file not found")
	}

	c := newRawClient(t, ts.addr)
	c.rrq("../root-secret/passwd", "octet")
	c.recv()
	c = newRawClient(t, ts.addr)
	c.sendTo(ts.addr, encodeRequest(opWRQ, "new.bin", "octet"))
	c.recv()
	c = newRawClient(t, ts.addr)
	c.rrq("ipxe.efi", "octet", "tsize", "0", "blksize", "1468")
	c.recv()
	c.sendError(errOptionRefused, "User aborted download")
	c = newRawClient(t, ts.addr)
	c.rrq("small.bin", "octet", "blksize", "1468")
	c.recv()
	c.sendError(errUndefined, "changed my mind")
	c = newRawClient(t, ts.addr)
	c.sendTo(ts.addr, []byte{0, 9, 'x', 0})
	c.recv()
	return ts
}

func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	transfers(t, NewMetrics(reg))

	want := `
# HELP rackboot_tftp_bytes_total File bytes TFTP clients acknowledged, counted when each transfer ends.
# TYPE rackboot_tftp_bytes_total counter
rackboot_tftp_bytes_total 1.0496e+06
# HELP rackboot_tftp_errors_total TFTP requests refused, transfers failed and packets malformed, by reason.
# TYPE rackboot_tftp_errors_total counter
rackboot_tftp_errors_total{reason="access_violation"} 1
rackboot_tftp_errors_total{reason="client_error"} 1
rackboot_tftp_errors_total{reason="malformed"} 1
rackboot_tftp_errors_total{reason="not_found"} 1
rackboot_tftp_errors_total{reason="write"} 1
# HELP rackboot_tftp_transfers_total TFTP read requests, by how they ended.
# TYPE rackboot_tftp_transfers_total counter
rackboot_tftp_transfers_total{result="busy"} 0
rackboot_tftp_transfers_total{result="failed"} 1
rackboot_tftp_transfers_total{result="ok"} 2
rackboot_tftp_transfers_total{result="probe"} 1
rackboot_tftp_transfers_total{result="refused"} 3
`
	if want, got := float64(len(fx.files["ipxe.efi"])+len(fx.files["exact.bin"])), 1.0496e+06; want != got {
		t.Fatalf("fixture sizes changed: %v bytes, the test expects %v", want, got)
	}
	// A transfer is counted just after its last packet: wait for it.
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err = testutil.GatherAndCompare(reg, strings.NewReader(want)); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint() = %v, %v; want no problems", problems, err)
	}
}

// TestMetricsNil runs the same transfers without metrics: nothing panics
// and the server's own counters still count.
func TestMetricsNil(t *testing.T) {
	ts := transfers(t, nil)
	st := ts.waitStats(t, func(s Stats) bool { return s.Served == 2 && s.Errors == 1 })
	if st.Served != 2 || st.Errors != 1 || st.Probes != 1 || st.Refused != 3 {
		t.Errorf("Stats() = %+v, want 2 served, 1 error, 1 probe, 3 refused", st)
	}
	var m *Metrics
	m.ended(resultOK, "")
	m.sent(10)
	m.malformed()
}

func TestFailureReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errTimeout, reasonTimeout},
		{&clientError{code: errUndefined, msg: "bye"}, reasonClient},
		{errors.New("reading file: input/output error"), reasonIO},
	}
	for _, tc := range tests {
		if got := failure(tc.err); got != tc.want {
			t.Errorf("failure(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
