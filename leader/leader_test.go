package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/rackboot/rackboot/internal/kubetest"
)

// waitFor bounds every wait of these tests; elections here take a few
// seconds.
const waitFor = 60 * time.Second

// TestElection runs the election cases against one real API server, each
// in a namespace of its own.
func TestElection(t *testing.T) {
	cp := kubetest.Start(t, kubetest.Options{})
	admin := kubernetes.NewForConfigOrDie(cp.Admin)
	n := 0
	env := func(t *testing.T) (*rest.Config, string) {
		n++
		ns := fmt.Sprintf("leader-%d", n)
		_, err := admin.CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cp.Admin, ns
	}
	t.Run("one leads", func(t *testing.T) { testOneLeads(t, env) })
	t.Run("clean stop hands over", func(t *testing.T) { testHandOver(t, env) })
	t.Run("stalled leader loses", func(t *testing.T) { testStalled(t, env) })
}

// replica is one elector with a gated probe, its API connection cut at
// will.
type replica struct {
	e      *Elector
	probe  *probe
	cut    atomic.Bool
	cancel context.CancelFunc
	done   chan error // Run's and the gate's results
}

func startReplica(t *testing.T, rc *rest.Config, ns, id string) *replica {
	t.Helper()
	r := &replica{probe: &probe{}, done: make(chan error, 2)}
	rc = rest.CopyConfig(rc)
	rc.Timeout = 5 * time.Second
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if r.cut.Load() {
				return nil, errors.New("connection cut by the test")
			}
			return rt.RoundTrip(req)
		})
	}
	var err error
	r.e, err = New(Config{Client: kubernetes.NewForConfigOrDie(rc), Namespace: ns,
		Identity: id, LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second,
		RetryPeriod: 500 * time.Millisecond, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.e.Run(ctx) }()
	go func() { r.done <- r.e.Gate(r.probe).Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends the replica and checks both its runners returned nil.
func (r *replica) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	for range 2 {
		if err := <-r.done; err != nil {
			t.Errorf("%s: Run = %v, want nil", r.e.Identity(), err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// probe is a gated runner that says whether it runs and how often it
// started.
type probe struct {
	running atomic.Bool
	starts  atomic.Int32
}

func (p *probe) Run(ctx context.Context) error {
	p.starts.Add(1)
	p.running.Store(true)
	<-ctx.Done()
	p.running.Store(false)
	return nil
}

// eventually polls cond until it holds, failing t after waitFor.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still not %s", waitFor, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaderOf waits until exactly one of rs leads with its probe running,
// and returns it and the other.
func leaderOf(t *testing.T, a, b *replica) (lead, follow *replica) {
	t.Helper()
	eventually(t, "exactly one leader running its gated runner", func() bool {
		return a.e.Leading() != b.e.Leading() &&
			(a.e.Leading() && a.probe.running.Load() || b.e.Leading() && b.probe.running.Load())
	})
	if a.e.Leading() {
		return a, b
	}
	return b, a
}

func testOneLeads(t *testing.T, env func(*testing.T) (*rest.Config, string)) {
	rc, ns := env(t)
	a, b := startReplica(t, rc, ns, "a"), startReplica(t, rc, ns, "b")
	lead, follow := leaderOf(t, a, b)
	eventually(t, "the follower seeing the leader", func() bool {
		return follow.e.Leader() == lead.e.Identity()
	})
	if follow.probe.starts.Load() != 0 {
		t.Errorf("follower %s started its gated runner %d times, want 0",
			follow.e.Identity(), follow.probe.starts.Load())
	}
	if got := lead.e.Leader(); got != lead.e.Identity() {
		t.Errorf("leader's Leader() = %q, want %q", got, lead.e.Identity())
	}
}

func testHandOver(t *testing.T, env func(*testing.T) (*rest.Config, string)) {
	rc, ns := env(t)
	a, b := startReplica(t, rc, ns, "a"), startReplica(t, rc, ns, "b")
	lead, follow := leaderOf(t, a, b)
	lead.stop(t)
	if lead.probe.running.Load() {
		t.Errorf("stopped leader's gated runner still runs")
	}
	if got := lead.e.Leader(); got != "" {
		t.Errorf("stopped leader's Leader() = %q, want \"\" (it released the Lease)", got)
	}
	eventually(t, "the follower leading", func() bool {
		return follow.e.Leading() && follow.probe.running.Load()
	})
	if got := follow.e.Leader(); got != follow.e.Identity() {
		t.Errorf("new leader's Leader() = %q, want %q", got, follow.e.Identity())
	}
}

func testStalled(t *testing.T, env func(*testing.T) (*rest.Config, string)) {
	rc, ns := env(t)
	a, b := startReplica(t, rc, ns, "a"), startReplica(t, rc, ns, "b")
	lead, follow := leaderOf(t, a, b)
	lead.cut.Store(true) // it can no longer renew, nor release
	eventually(t, "the cut-off leader giving up", func() bool {
		return !lead.e.Leading() && !lead.probe.running.Load()
	})
	// It knows it no longer leads and cannot see who does.
	if got := lead.e.Leader(); got != "" {
		t.Errorf("cut-off leader's Leader() = %q, want \"\"", got)
	}
	eventually(t, "the follower taking over", func() bool {
		return follow.e.Leading() && follow.probe.running.Load()
	})
	lead.cut.Store(false)
	eventually(t, "the old leader following the new one", func() bool {
		return lead.e.Leader() == follow.e.Identity()
	})
	if lead.e.Leading() {
		t.Errorf("old leader leads again beside %s", follow.e.Identity())
	}
}

func TestNewChecksConfig(t *testing.T) {
	cs := fake.NewClientset()
	ok := Config{Client: cs, Namespace: "ns", Identity: "a"}
	tests := []struct {
		name string
		edit func(*Config)
		want string // in the error; "" means none
	}{
		{"defaults", func(*Config) {}, ""},
		{"no client", func(c *Config) { c.Client = nil }, "client: missing"},
		{"no namespace", func(c *Config) { c.Namespace = "" }, "namespace: missing"},
		{"no identity", func(c *Config) { c.Identity = "" }, "identity: missing"},
		{"sub-second lease", func(c *Config) { c.LeaseDuration = 500 * time.Millisecond },
			"lease duration"},
		{"renew past lease", func(c *Config) { c.RenewDeadline = 20 * time.Second },
			"renew deadline"},
		{"retry past renew", func(c *Config) { c.RetryPeriod = 12 * time.Second },
			"retry period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			_, err := New(c)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// TestCheckTimings checks the boundaries of the timings, and that New,
// which hands them to client-go, agrees with CheckTimings on each.
func TestCheckTimings(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name               string
		lease, renew, retr time.Duration
		want               string // in the error; "" means none
	}{
		{"defaults", DefaultLeaseDuration, DefaultRenewDeadline, DefaultRetryPeriod, ""},
		{"smallest lease", time.Second, 900 * ms, 700 * ms, ""},
		{"sub-second lease", 999 * ms, 900 * ms, 700 * ms, "lease duration: 999ms is shorter"},
		{"fractional lease", 1500 * ms, 1200 * ms, 900 * ms, "lease duration: 1.5s is not a whole number"},
		{"renew as long as lease", 2 * time.Second, 2 * time.Second, time.Second, "renew deadline"},
		{"renew just under lease", 2 * time.Second, 1999 * ms, time.Second, ""},
		{"no renew", 2 * time.Second, 0, time.Second, "renew deadline"},
		{"renew at retry times jitter", 2 * time.Second, 1200 * ms, time.Second,
			"retry period: 1s, times 1.2 for client-go's jitter"},
		{"renew just past retry times jitter", 2 * time.Second, 1201 * ms, time.Second, ""},
		{"reported case", 1500 * ms, 1200 * ms, time.Second, "lease duration: 1.5s"},
		{"no retry", 2 * time.Second, time.Second, 0, "retry period: 0s must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTimings(tt.lease, tt.renew, tt.retr)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckTimings(%v, %v, %v) = %v, want nil", tt.lease, tt.renew, tt.retr, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckTimings(%v, %v, %v) = %v, want %q", tt.lease, tt.renew, tt.retr, err, tt.want)
			}
			if tt.renew == 0 || tt.retr == 0 {
				return // New reads zero as the default
			}
			_, nerr := New(Config{Client: fake.NewClientset(), Namespace: "ns", Identity: "a",
				LeaseDuration: tt.lease, RenewDeadline: tt.renew, RetryPeriod: tt.retr})
			if (nerr == nil) != (err == nil) {
				t.Errorf("New with %v, %v, %v = %v, but CheckTimings = %v", tt.lease, tt.renew, tt.retr, nerr, err)
			}
		})
	}
}

// A holder seen renewing is the leader until a lease duration passes
// without a change of its record; a released Lease names none.
func TestLeaseLapses(t *testing.T) {
	l := &watchedLock{}
	renewed := metav1.NewTime(time.Now())
	l.note(resourcelock.LeaderElectionRecord{HolderIdentity: "a", LeaseDurationSeconds: 2,
		RenewTime: renewed})
	now := time.Now()
	if got := l.holder(now); got != "a" {
		t.Errorf("holder just after a renewal = %q, want a", got)
	}
	l.note(resourcelock.LeaderElectionRecord{HolderIdentity: "a", LeaseDurationSeconds: 2,
		RenewTime: renewed})
	if got := l.holder(now.Add(3 * time.Second)); got != "" {
		t.Errorf("holder 3s after the last renewal of a 2s lease = %q, want \"\"", got)
	}
	l.note(resourcelock.LeaderElectionRecord{LeaseDurationSeconds: 1, RenewTime: metav1.Now()})
	if got := l.holder(time.Now()); got != "" {
		t.Errorf("holder of a released Lease = %q, want \"\"", got)
	}
}

func TestNotLeadingBeforeRun(t *testing.T) {
	e, err := New(Config{Client: fake.NewClientset(), Namespace: "ns", Identity: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Leading() || e.Leader() != "" {
		t.Errorf("before Run: Leading() = %v, Leader() = %q, want false, \"\"", e.Leading(), e.Leader())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Gate(&probe{}).Run(ctx); err != nil {
		t.Errorf("Gate(r).Run(cancelled) = %v, want nil", err)
	}
}

// testLog logs to the test with LEADER_LOG=1, else nowhere.
func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("LEADER_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t: t}, nil))
}

// tWriter writes to t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
