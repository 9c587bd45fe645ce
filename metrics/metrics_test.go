package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/internal/testlog"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/tftp"
	"github.com/rackboot/rackboot/tracker"
	"github.com/rackboot/rackboot/web"
)

var _ Inventory = (*inventory.Inventory)(nil)

const testCatalog = `
profiles:
  - name: tiny
    kernel: tiny/vmlinuz
machines:
  - {name: n1, macs: ["02:00:00:00:00:01", "02:00:00:00:00:0a"], profile: tiny}
  - {name: n2, macs: ["02:00:00:00:00:02"], profile: tiny}
  - {name: n3, macs: ["02:00:00:00:00:03"], profile: tiny}
  - {name: n4, macs: ["02:00:00:00:00:04"], profile: tiny}
`

var t0 = time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)

// watched is an Inventory that tells when Run has started watching.
type watched struct {
	*inventory.Inventory
	watches chan struct{}
}

func (w *watched) Watch(buf int) *inventory.Watcher {
	defer func() { w.watches <- struct{}{} }()
	return w.Inventory.Watch(buf)
}

func openInventory(t *testing.T) *inventory.Inventory {
	t.Helper()
	cat, err := inventory.ParseCatalog([]byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return inventory.New(cat, store)
}

// run runs m.Run until the test ends and waits until it watches.
func run(t *testing.T, m *Machines, w *watched) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
	<-w.watches
}

// step is one recorded event, at t0 plus at seconds.
type step struct {
	mac    string
	kind   inventory.EventKind
	at     int
	detail string
}

func record(t *testing.T, inv *inventory.Inventory, steps []step) {
	t.Helper()
	for _, s := range steps {
		e := inventory.Event{Kind: s.kind, Time: t0.Add(time.Duration(s.at) * time.Second), Detail: s.detail}
		if _, err := inv.Record(s.mac, e); err != nil {
			t.Fatal(err)
		}
	}
}

// waitCount waits, boundedly, until the histogram holds n observations.
func waitCount(t *testing.T, reg prometheus.Gatherer, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if got, _ := histogram(t, reg); got >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// histogram returns the count and sum of rackboot_power_on_to_ready_seconds.
func histogram(t *testing.T, g prometheus.Gatherer) (uint64, float64) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "rackboot_power_on_to_ready_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("rackboot_power_on_to_ready_seconds not gathered")
	return 0, 0
}

const (
	cycled = "by alice: cycle via redfish: ok in 2.1s: power cycle requested; power on"
	failed = "by alice: cycle: failed in 1s: n3 (redfish 192.0.2.3): bmc did not answer in time"
	onOK   = "by api 192.0.2.1: on via ipmi: ok in 0.8s: power on requested; power on"
	status = "by alice: status via ipmi: ok in 0.3s; power on"
)

// fleet is what the test records. n1 boots through its second NIC and
// turns Ready under its first: 300 s. n2 is reprovisioned; the
// workflow's own power cycle does not restart its clock: 600 s. n3 is
// powered on 1000 s after its first DHCP packet, which restarts the
// clock, and a failed cycle and a status read do not: 100 s; then it
// degrades. n1's second Ready, with no boot in between, and n4, which
// never gets there, add nothing. An undeclared MAC is discovered.
var fleet = []step{
	{"02:00:00:00:00:0a", inventory.EventDHCPOffer, 0, ""},
	{"02:00:00:00:00:0a", inventory.EventTFTPServed, 10, "ipxe.efi"},
	{"02:00:00:00:00:01", inventory.EventIgnitionServed, 100, ""},
	{"02:00:00:00:00:01", inventory.EventNodeReady, 300, ""},
	{"02:00:00:00:00:02", inventory.EventProvisionStarted, 0, ""},
	{"02:00:00:00:00:02", inventory.EventBMCPower, 5, cycled},
	{"02:00:00:00:00:02", inventory.EventDHCPOffer, 60, ""},
	{"02:00:00:00:00:02", inventory.EventNodeReady, 600, ""},
	{"02:00:00:00:00:03", inventory.EventDHCPOffer, 0, ""},
	{"02:00:00:00:00:03", inventory.EventBMCPower, 900, failed},
	{"02:00:00:00:00:03", inventory.EventBMCPower, 1000, onOK},
	{"02:00:00:00:00:03", inventory.EventBMCPower, 1010, status},
	{"02:00:00:00:00:03", inventory.EventDHCPOffer, 1020, ""},
	{"02:00:00:00:00:03", inventory.EventNodeReady, 1100, ""},
	{"02:00:00:00:00:03", inventory.EventNodeNotReady, 2000, ""},
	{"02:00:00:00:00:01", inventory.EventNodeNotReady, 700, ""},
	{"02:00:00:00:00:01", inventory.EventNodeReady, 800, ""},
	{"02:00:00:00:00:04", inventory.EventDHCPOffer, 0, ""},
	{"02:00:00:00:00:04", inventory.EventScriptServed, 30, ""},
	{"02:00:00:00:00:99", inventory.EventDHCPDiscover, 0, ""},
}

func TestMachinesAndBoots(t *testing.T) {
	inv := openInventory(t)
	w := &watched{Inventory: inv, watches: make(chan struct{}, 4)}
	reg := prometheus.NewPedanticRegistry()
	m := New(w, reg, nil)
	run(t, m, w)
	record(t, inv, fleet)
	waitCount(t, reg, 3)

	want := `
# HELP rackboot_machines Machines by state; a machine's MACs count once, in the state of its newest event.
# TYPE rackboot_machines gauge
rackboot_machines{state="booting"} 1
rackboot_machines{state="csr-pending"} 0
rackboot_machines{state="degraded"} 1
rackboot_machines{state="discovered"} 1
rackboot_machines{state="failed"} 0
rackboot_machines{state="ignition-served"} 0
rackboot_machines{state="os-booted"} 0
rackboot_machines{state="ready"} 2
rackboot_machines{state="registered"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rackboot_machines"); err != nil {
		t.Error(err)
	}
	if n, sum := histogram(t, reg); n != 3 || sum != 1000 {
		t.Errorf("rackboot_power_on_to_ready_seconds count, sum = %d, %v; want 3, 1000 (300 + 600 + 100)", n, sum)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint() = %v, %v; want no problems", problems, err)
	}
}

// TestMachinesCached checks that scrapes within cacheFor share one
// reading of the store, and the next one reads it again.
func TestMachinesCached(t *testing.T) {
	inv := openInventory(t)
	reg := prometheus.NewPedanticRegistry()
	m := New(inv, reg, nil)
	now := t0
	m.now = func() time.Time { return now }
	record(t, inv, []step{{"02:00:00:00:00:99", inventory.EventDHCPDiscover, 0, ""}})
	if got := gauge(t, reg, inventory.StateDiscovered); got != 1 {
		t.Fatalf("discovered = %v, want 1", got)
	}
	record(t, inv, []step{{"02:00:00:00:00:98", inventory.EventDHCPDiscover, 0, ""}})
	now = now.Add(cacheFor - time.Millisecond)
	if got := gauge(t, reg, inventory.StateDiscovered); got != 1 {
		t.Errorf("discovered within %v of the last reading = %v, want the cached 1", cacheFor, got)
	}
	now = now.Add(time.Millisecond)
	if got := gauge(t, reg, inventory.StateDiscovered); got != 2 {
		t.Errorf("discovered %v after the last reading = %v, want 2", cacheFor, got)
	}
}

// TestMachinesNeverSeen checks that a MAC known only by an operator's
// decisions is not counted: the network never showed it.
func TestMachinesNeverSeen(t *testing.T) {
	inv := openInventory(t)
	reg := prometheus.NewPedanticRegistry()
	m := New(inv, reg, nil)
	record(t, inv, []step{
		{"02:00:00:00:00:97", inventory.EventAccepted, 0, ""},
		{"02:00:00:00:00:98", inventory.EventRejected, 0, ""},
		{"02:00:00:00:00:99", inventory.EventDHCPDiscover, 0, ""},
	})
	if got := gauge(t, reg, inventory.StateDiscovered); got != 1 {
		t.Errorf("discovered = %v, want 1: two MACs were only accepted or rejected", got)
	}
	if n := testutil.CollectAndCount(m, "rackboot_machines"); n != len(inventory.States()) {
		t.Errorf("rackboot_machines has %d series, want one per state (%d)", n, len(inventory.States()))
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("GatherAndLint() = %v, %v; want no problems", problems, err)
	}
}

// gauge returns rackboot_machines{state=s}.
func gauge(t *testing.T, g prometheus.Gatherer, s inventory.State) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rackboot_machines" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if mt.GetLabel()[0].GetValue() == string(s) {
				return mt.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("rackboot_machines{state=%q} not gathered", s)
	return 0
}

// failing is an Inventory whose store cannot be read.
type failing struct{ *inventory.Inventory }

func (failing) Statuses() ([]inventory.Status, error) {
	return nil, errors.New("reading statuses: disk on fire")
}

// TestHandlerKeepsServing checks that /metrics still serves the other
// series, and logs why, when the store cannot be read.
func TestHandlerKeepsServing(t *testing.T) {
	reg := NewRegistry()
	New(failing{openInventory(t)}, reg, nil)
	var logs syncBuffer
	h := Handler(reg, slog.New(slog.NewTextHandler(&logs, nil)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "go_goroutines") ||
		!strings.Contains(body, "rackboot_power_on_to_ready_seconds_count 0") {
		t.Errorf("GET /metrics = %d, want 200 with the Go and histogram series:\n%s", w.Code, body)
	}
	if strings.Contains(body, "rackboot_machines{") {
		t.Errorf("GET /metrics shows rackboot_machines from an unreadable store:\n%s", body)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("log = %q, want the store's error", logs.String())
	}
}

// TestRunWatchesAgainAfterLag hands Run a watcher that has lagged already:
// Run says so at Debug, watches again, and still times boots.
func TestRunWatchesAgainAfterLag(t *testing.T) {
	inv := openInventory(t)
	lw := &lagging{watched: watched{Inventory: inv, watches: make(chan struct{}, 4)}}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewPedanticRegistry()
	m := New(lw, reg, log)
	run(t, m, &lw.watched)
	<-lw.watches // the second watch
	record(t, inv, []step{
		{"02:00:00:00:00:02", inventory.EventDHCPOffer, 0, ""},
		{"02:00:00:00:00:02", inventory.EventNodeReady, 90, ""},
	})
	waitCount(t, reg, 1)
	if n, sum := histogram(t, reg); n != 1 || sum != 90 {
		t.Errorf("after the lag: count, sum = %d, %v; want 1, 90", n, sum)
	}
	if !strings.Contains(logs.String(), `level=DEBUG msg="metrics fell behind the event stream; watching again" machines=1`) {
		t.Errorf("log = %q, want a Debug line for the lag", logs.String())
	}
}

// lagging hands out, the first time, a watcher that lagged: one boot was
// open when it did.
type lagging struct {
	watched
	once sync.Once
}

func (l *lagging) Watch(buf int) *inventory.Watcher {
	first := false
	l.once.Do(func() { first = true })
	if !first {
		return l.watched.Watch(buf)
	}
	w := l.Inventory.Watch(1)
	for i, kind := range []inventory.EventKind{inventory.EventDHCPOffer, inventory.EventTFTPServed} {
		e := inventory.Event{Kind: kind, Time: t0.Add(time.Duration(i) * time.Second)}
		if _, err := l.Inventory.Record("02:00:00:00:00:01", e); err != nil {
			panic(err)
		}
	}
	l.watches <- struct{}{}
	return w
}

func TestPoweredOn(t *testing.T) {
	tests := []struct {
		detail string
		want   bool
	}{
		{cycled, true},
		{onOK, true},
		{"by x: reset via redfish: ok in 1s: reset requested", true},
		{failed, false},
		{status, false},
		{"by x: off via redfish: ok in 30s: soft off; power off", false},
	}
	for _, tc := range tests {
		if got := poweredOn(tc.detail); got != tc.want {
			t.Errorf("poweredOn(%q) = %v, want %v", tc.detail, got, tc.want)
		}
	}
}

// TestBootsBounded checks that a full table makes room by dropping
// boots older than maxAge, and refuses new ones when none is.
func TestBootsBounded(t *testing.T) {
	b := newBoots()
	for i := range maxOpen {
		b.see(strings.Repeat("k", i%7)+string(rune(i)), inventory.Event{Kind: inventory.EventDHCPOffer, Time: t0})
	}
	if len(b.open) != maxOpen {
		t.Fatalf("open = %d, want %d", len(b.open), maxOpen)
	}
	b.see("late", inventory.Event{Kind: inventory.EventDHCPOffer, Time: t0.Add(time.Hour)})
	if _, ok := b.open["late"]; ok || len(b.open) != maxOpen {
		t.Errorf("a boot got in with the table full of recent ones (%d open)", len(b.open))
	}
	b.see("later", inventory.Event{Kind: inventory.EventDHCPOffer, Time: t0.Add(maxAge + time.Second)})
	if _, ok := b.open["later"]; !ok || len(b.open) != 1 {
		t.Errorf("after maxAge: open = %d (later in: %v), want the new boot alone", len(b.open), ok)
	}
}

// TestLintEveryPart registers every part's metrics in one registry, as
// rackboot does: no name clashes, and promlint finds nothing.
func TestLintEveryPart(t *testing.T) {
	reg := NewRegistry()
	dhcp.NewMetrics(reg)
	tftp.NewMetrics(reg)
	web.NewMetrics(reg)
	bmc.NewMetrics(reg)
	tracker.NewMetrics(reg)
	New(openInventory(t), reg, nil)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]promlint.Problem(nil), problems); diff != "" {
		t.Errorf("GatherAndLint() problems (-want +got):\n%s", diff)
	}
}

// syncBuffer collects log output; safe for concurrent use.
type syncBuffer = testlog.Buffer
