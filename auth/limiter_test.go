package auth

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	c := newClock()
	l := NewLimiter(c.now)
	const ip = "192.0.2.7:51000"
	for i := range 5 {
		if _, ok := l.Allow(ip); !ok {
			t.Fatalf("Allow() before failure %d = false, want true", i+1)
		}
		l.Fail(ip)
	}
	wait, ok := l.Allow(ip)
	if ok || wait != 12*time.Second {
		t.Fatalf("Allow() after 5 failures = %s, %v, want 12s, false", wait, ok)
	}
	if _, ok := l.Allow("192.0.2.8:1"); !ok {
		t.Errorf("another address is refused too")
	}
	if _, ok := l.Allow("192.0.2.7:2"); ok {
		t.Errorf("the same address from another port is allowed")
	}

	c.advance(5 * time.Second)
	if wait, ok := l.Allow(ip); ok || wait != 7*time.Second {
		t.Errorf("Allow() 5s later = %s, %v, want 7s, false", wait, ok)
	}
	c.advance(7 * time.Second) // one try earned
	if _, ok := l.Allow(ip); !ok {
		t.Fatalf("Allow() after 12s = false, want one try")
	}
	l.Fail(ip)
	if _, ok := l.Allow(ip); ok {
		t.Errorf("Allow() after the earned try failed = true, want false")
	}

	c.advance(60 * time.Second) // all five back
	for i := range 5 {
		if _, ok := l.Allow(ip); !ok {
			t.Fatalf("Allow() after a minute, try %d = false", i+1)
		}
		l.Fail(ip)
	}
	if _, ok := l.Allow(ip); ok {
		t.Errorf("Allow() after 5 more failures = true")
	}
}

func TestLimiterForgetsRefilled(t *testing.T) {
	c := newClock()
	l := NewLimiter(c.now)
	l.Fail("192.0.2.7:1")
	c.advance(Refill)
	l.Allow("192.0.2.7:1")
	if n := len(l.buckets); n != 0 {
		t.Errorf("limiter holds %d buckets after a refill, want 0", n)
	}
}

func TestLimiterBounded(t *testing.T) {
	c := newClock()
	l := NewLimiter(c.now)
	for i := range MaxLimited + 100 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Fail(netip.AddrPortFrom(a, 1).String())
		c.advance(time.Millisecond)
	}
	if n := len(l.buckets); n > MaxLimited {
		t.Errorf("limiter holds %d buckets, want at most %d", n, MaxLimited)
	}
	last := fmt.Sprintf("10.0.%d.%d:1", (MaxLimited+99)>>8&255, (MaxLimited+99)&255)
	if _, ok := l.buckets[limitKey(last)]; !ok {
		t.Errorf("the newest address %s was forgotten", last)
	}
}

func TestLimitKey(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"192.0.2.7:80", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7/32"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:443", "fe80::/64"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"@", "invalid Prefix"},
	}
	for _, tt := range tests {
		if got := limitKey(tt.in).String(); got != tt.want {
			t.Errorf("limitKey(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestLimiterSucceed(t *testing.T) {
	l := NewLimiter(newClock().now)
	const ip = "192.0.2.7:51000"
	l.Succeed(ip) // no failures yet: nothing to forget
	for round := range 3 {
		for range Burst - 1 {
			l.Fail(ip)
		}
		if _, ok := l.Allow(ip); !ok {
			t.Fatalf("round %d: Allow() after %d failures = false, want true", round+1, Burst-1)
		}
		l.Succeed(ip)
	}
	for range Burst {
		l.Fail(ip)
	}
	if _, ok := l.Allow(ip); ok {
		t.Errorf("Allow() after %d failures in a row = true, want false", Burst)
	}
}
