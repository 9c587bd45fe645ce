package bmc

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/internal/testlog"
	"github.com/rackboot/rackboot/inventory"
)

var (
	_ Recorder = (*inventory.Store)(nil)
	_ Recorder = (*inventory.Inventory)(nil)
)

// memRecorder keeps events in memory.
type memRecorder struct {
	mu     sync.Mutex
	events map[string][]inventory.Event
}

func (r *memRecorder) Record(mac string, e inventory.Event) (inventory.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events = make(map[string][]inventory.Event)
	}
	r.events[mac] = append(r.events[mac], e)
	return e, nil
}

func (r *memRecorder) timeline(mac string) []inventory.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]inventory.Event(nil), r.events[mac]...)
}

// syncBuffer collects log output; safe for concurrent use.
type syncBuffer = testlog.Buffer

// rig is a Controller with its recorder and captured debug log.
type rig struct {
	ctl  *Controller
	rec  *memRecorder
	logs *syncBuffer
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	r := &rig{rec: &memRecorder{}, logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctl, err := New(cfg, r.rec, log)
	if err != nil {
		t.Fatal(err)
	}
	r.ctl = ctl
	return r
}

// credFile writes "user:pass" to a private file and returns its path.
func credFile(t *testing.T, user, pass string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bmc.cred")
	if err := os.WriteFile(path, []byte(user+":"+pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// machine is a declared machine with b as its BMC.
func machine(name, mac string, b *inventory.BMC) inventory.Machine {
	return inventory.Machine{Name: name, MACs: []string{mac}, Profile: "tiny", BMC: b}
}

// assertNoSecret fails if secret shows in the error, the log or the
// timeline.
func (r *rig) assertNoSecret(t *testing.T, secret string, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Errorf("error holds the password: %v", err)
	}
	if strings.Contains(r.logs.String(), secret) {
		t.Errorf("log holds the password:\n%s", r.logs)
	}
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	for mac, evs := range r.rec.events {
		for _, e := range evs {
			if strings.Contains(e.Detail, secret) {
				t.Errorf("event of %s holds the password: %q", mac, e.Detail)
			}
		}
	}
}

// settleGoroutines waits, boundedly, until no more goroutines run than
// before, and fails if some stay.
func settleGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines, %d before the operation:\n%s", runtime.NumGoroutine(), before, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
