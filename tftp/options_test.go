package tftp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rackboot/rackboot/inventory"
)

func TestNegotiate(t *testing.T) {
	lim := limits{blksize: 1468, window: 64, timeout: time.Second}
	tests := []struct {
		name string
		opts []string // name, value, ...
		size int64
		want params
	}{
		{"none", nil, 10, params{blksize: 512, window: 1, timeout: time.Second}},
		{"edk2 probe", []string{"tsize", "0", "blksize", "1468"}, 4096, params{
			blksize: 1468, window: 1, timeout: time.Second, tsize: true,
			oack: []option{{"tsize", "4096"}, {"blksize", "1468"}},
		}},
		{"blksize clamped", []string{"blksize", "65464"}, 1, params{
			blksize: 1468, window: 1, timeout: time.Second,
			oack: []option{{"blksize", "1468"}},
		}},
		{"blksize too small", []string{"blksize", "7"}, 1, params{blksize: 512, window: 1, timeout: time.Second}},
		{"blksize minimum", []string{"blksize", "8"}, 1, params{
			blksize: 8, window: 1, timeout: time.Second, oack: []option{{"blksize", "8"}},
		}},
		{"blksize signed", []string{"blksize", "+1024"}, 1, params{blksize: 512, window: 1, timeout: time.Second}},
		{"blksize huge", []string{"blksize", "99999999999"}, 1, params{blksize: 512, window: 1, timeout: time.Second}},
		{"name case kept", []string{"BlkSize", "1024"}, 1, params{
			blksize: 1024, window: 1, timeout: time.Second, oack: []option{{"BlkSize", "1024"}},
		}},
		{"repeat ignored", []string{"blksize", "1024", "blksize", "800"}, 1, params{
			blksize: 1024, window: 1, timeout: time.Second, oack: []option{{"blksize", "1024"}},
		}},
		{"unknown ignored", []string{"multicast", "", "rollover", "0"}, 1, params{blksize: 512, window: 1, timeout: time.Second}},
		{"tsize unknown size", []string{"tsize", "0"}, -1, params{blksize: 512, window: 1, timeout: time.Second}},
		{"timeout", []string{"timeout", "3"}, 1, params{
			blksize: 512, window: 1, timeout: 3 * time.Second, oack: []option{{"timeout", "3"}},
		}},
		{"timeout zero", []string{"timeout", "0"}, 1, params{blksize: 512, window: 1, timeout: time.Second}},
		{"timeout 256", []string{"timeout", "256"}, 1, params{blksize: 512, window: 1, timeout: time.Second}},
		{"windowsize", []string{"windowsize", "16"}, 1, params{
			blksize: 512, window: 16, timeout: time.Second, oack: []option{{"windowsize", "16"}},
		}},
		{"windowsize capped", []string{"windowsize", "65535"}, 1, params{
			blksize: 512, window: 64, timeout: time.Second, oack: []option{{"windowsize", "64"}},
		}},
		{"windowsize zero", []string{"windowsize", "0"}, 1, params{blksize: 512, window: 1, timeout: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []option
			for i := 0; i < len(tt.opts); i += 2 {
				opts = append(opts, option{tt.opts[i], tt.opts[i+1]})
			}
			got := negotiate(opts, tt.size, lim)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(params{}, option{})); diff != "" {
				t.Errorf("negotiate(%v, %d) mismatch (-want +got):\n%s", tt.opts, tt.size, diff)
			}
		})
	}
}

// TestOACKOnWire checks the first packet the server sends for each set of
// options (FORMATS case 8): an OACK with exactly the options asked for and
// accepted, or DATA 1 at once when none is.
func TestOACKOnWire(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelDebug)
	size := len(fx.files["ipxe.efi"])
	tests := []struct {
		name string
		opts []string
		want string
	}{
		{"no options", nil, "DATA 1 (512 bytes)"},
		{"edk2 probe", []string{"tsize", "0", "blksize", "1468"}, fmt.Sprintf("OACK tsize=%d blksize=1468", size)},
		{"edk2 second request", []string{"blksize", "1468"}, "OACK blksize=1468"},
		{"blksize above cap", []string{"blksize", "65464"}, "OACK blksize=1468"},
		{"blksize invalid", []string{"blksize", "4"}, "DATA 1 (512 bytes)"},
		{"only unknown", []string{"foo", "bar"}, "DATA 1 (512 bytes)"},
		{"unknown beside known", []string{"foo", "bar", "tsize", "0"}, fmt.Sprintf("OACK tsize=%d", size)},
		{"upper-case name", []string{"TSIZE", "0"}, fmt.Sprintf("OACK TSIZE=%d", size)},
		{"windowsize capped", []string{"windowsize", "100"}, "OACK windowsize=64"},
		{"timeout", []string{"timeout", "3"}, "OACK timeout=3"},
		{"timeout out of range", []string{"timeout", "300"}, "DATA 1 (512 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRawClient(t, ts.addr)
			c.rrq("ipxe.efi", "octet", tt.opts...)
			if got := describe(c.recv()); got != tt.want {
				t.Errorf("RRQ ipxe.efi %v: first packet = %s, want %s", tt.opts, got, tt.want)
			}
			c.sendError(errUndefined, "test done")
		})
	}
}

// fakeRecorder records RecordByIP calls.
type fakeRecorder struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeRecorder) RecordByIP(ip netip.Addr, e inventory.Event) (inventory.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s %s", ip, e.Kind, e.Detail))
	return e, f.err
}

func (f *fakeRecorder) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// TestSizeProbe plays EDK2's two requests (FORMATS case 8): a probe that
// ends with ERROR 8 after the OACK, then the real download.
func TestSizeProbe(t *testing.T) {
	rec := &fakeRecorder{}
	ts := startServer(t, Config{Timeout: 100 * time.Millisecond}, rec, slog.LevelDebug)
	want := fx.files["ipxe.efi"]

	probe := newRawClient(t, ts.addr)
	probe.rrq("ipxe.efi", "octet", "tsize", "0", "blksize", "1468")
	oack := fmt.Sprintf("OACK tsize=%d blksize=1468", len(want))
	if got := describe(probe.recv()); got != oack {
		t.Fatalf("probe: first packet = %s, want %s", got, oack)
	}
	probe.sendError(errOptionRefused, "User aborted download")
	st := ts.waitStats(t, func(s Stats) bool { return s.Probes == 1 })
	// Five server timeouts: only OACKs resent before the ERROR arrived.
	probe.expectOnly(oack, 500*time.Millisecond)
	if st.Probes != 1 || st.Served != 0 || st.Errors != 0 {
		t.Errorf("after probe Stats() = %+v, want Probes 1, Served 0, Errors 0", st)
	}
	if !ts.waitLog("level=DEBUG msg=\"tftp size probe answered\"") {
		t.Error("no Debug log line for the probe")
	}

	c := newRawClient(t, ts.addr)
	c.rrq("ipxe.efi", "octet", "blksize", "1468")
	if got := describe(c.recv()); got != "OACK blksize=1468" {
		t.Fatalf("second request: first packet = %s, want OACK blksize=1468", got)
	}
	c.ack(0)
	got, _ := c.download(c.recv(), 1468)
	if sum(got) != sum(want) {
		t.Fatalf("download: %d bytes, sha256 %s, want %d bytes, %s", len(got), sum(got), len(want), sum(want))
	}
	ts.waitStats(t, func(s Stats) bool { return s.Served == 1 })
	if diff := cmp.Diff([]string{"127.0.0.1 tftp-served ipxe.efi"}, rec.Calls()); diff != "" {
		t.Errorf("recorder calls mismatch (-want +got):\n%s", diff)
	}
}

// TestRecorderError checks that a failing recorder does not fail the
// transfer and is logged at Debug.
func TestRecorderError(t *testing.T) {
	rec := &fakeRecorder{err: fmt.Errorf("looking up 127.0.0.1: %w", inventory.ErrNotFound)}
	ts := startServer(t, Config{}, rec, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.rrq("small.bin", "octet")
	got, _ := c.download(c.recv(), 512)
	if sum(got) != sum(fx.files["small.bin"]) {
		t.Fatalf("download of small.bin: got %d bytes, sha256 %s, want %s", len(got), sum(got), sum(fx.files["small.bin"]))
	}
	st := ts.waitStats(t, func(s Stats) bool { return s.Served == 1 })
	if st.Served != 1 || st.Errors != 0 {
		t.Errorf("Stats() = %+v, want Served 1, Errors 0", st)
	}
	if !ts.waitLog("level=DEBUG msg=\"tftp transfer not recorded") {
		t.Error("no Debug log line for the recorder error")
	}
	if strings.Contains(ts.logs.String(), "level=WARN") {
		t.Errorf("recorder ErrNotFound logged above Debug:\n%s", ts.logs)
	}
}
