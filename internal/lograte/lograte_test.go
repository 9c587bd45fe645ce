package lograte

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestAllow(t *testing.T) {
	c := &clock{now: t0}
	l := New(time.Minute, c.Now)
	steps := []struct {
		name       string
		advance    time.Duration
		key        string
		ok         bool
		suppressed uint64
	}{
		{"first line", 0, "a", true, 0},
		{"repeat", time.Second, "a", false, 0},
		{"another key", 0, "b", true, 0},
		{"repeat again", 58 * time.Second, "a", false, 0},
		{"after the interval", time.Second, "a", true, 2},
		{"counts start over", time.Minute, "a", true, 0},
		{"b after its interval", 0, "b", true, 0},
	}
	for _, st := range steps {
		c.now = c.now.Add(st.advance)
		suppressed, ok := l.Allow(st.key)
		if ok != st.ok || suppressed != st.suppressed {
			t.Errorf("%s: Allow(%q) = %d, %v, want %d, %v", st.name, st.key, suppressed, ok, st.suppressed, st.ok)
		}
	}
}

func TestAllowBounded(t *testing.T) {
	c := &clock{now: t0}
	l := New(time.Minute, c.Now)
	for i := range MaxKeys {
		if _, ok := l.Allow(fmt.Sprint(i)); !ok {
			t.Fatalf("Allow(%d) = false for a new key", i)
		}
	}
	// No room: new keys share the overflow key, one line per interval.
	if _, ok := l.Allow("new1"); !ok {
		t.Error("first key past MaxKeys held back, want it let through")
	}
	if _, ok := l.Allow("new2"); ok {
		t.Error("second key past MaxKeys let through, want it held back")
	}
	if n := len(l.keys); n > MaxKeys+1 {
		t.Errorf("Limiter remembers %d keys, want at most %d and the overflow key", n, MaxKeys)
	}
	// Once the interval passes, old keys make room again.
	c.now = c.now.Add(time.Minute)
	if _, ok := l.Allow("new3"); !ok {
		t.Error("new key after the interval held back")
	}
	if _, ok := l.Allow("new3"); ok {
		t.Error("repeat of new3 let through: it has no key of its own")
	}
}

func TestLog(t *testing.T) {
	c := &clock{now: t0}
	l := New(time.Minute, c.Now)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	ctx := context.Background()
	for range 3 {
		l.Log(ctx, log, slog.LevelWarn, "full", "no free address", "ip", "192.0.2.0/24")
	}
	c.now = c.now.Add(time.Minute)
	l.Log(ctx, log, slog.LevelWarn, "full", "no free address", "ip", "192.0.2.0/24")
	want := []string{
		`level=WARN msg="no free address" ip=192.0.2.0/24`,
		`level=DEBUG msg="no free address" ip=192.0.2.0/24`,
		`level=DEBUG msg="no free address" ip=192.0.2.0/24`,
		`level=WARN msg="no free address" ip=192.0.2.0/24 suppressed=2`,
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

func TestLogBelowLevel(t *testing.T) {
	l := New(time.Minute, nil)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))
	l.Log(context.Background(), log, slog.LevelWarn, "k", "hidden")
	if buf.Len() != 0 {
		t.Errorf("log below the handler's level wrote %q", buf.String())
	}
	if len(l.keys) != 0 {
		t.Errorf("a line nobody would see took a key: %v", l.keys)
	}
}
