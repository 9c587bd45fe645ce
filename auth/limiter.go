package auth

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limiter defaults: each remote address may fail Burst times at once,
// and earns one more try every Refill.
const (
	Burst  = 5
	Refill = 12 * time.Second
	// MaxLimited bounds the addresses a Limiter remembers.
	MaxLimited = 10000
)

// Limiter counts failed sign-ins per remote address in a token bucket:
// each failure takes a token, Refill puts one back, and an address with
// none left is refused. IPv6 addresses count per /64, the block one host
// usually holds. It is safe for concurrent use.
type Limiter struct {
	now func() time.Time

	mu sync.Mutex
	// guarded by mu: addresses whose bucket is not full; an address
	// missing here has a full bucket.
	buckets map[netip.Prefix]bucket
}

// bucket is one address's tokens left at the time at.
type bucket struct {
	left int
	at   time.Time
}

// NewLimiter returns a limiter timed by now (nil: time.Now).
func NewLimiter(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, buckets: map[netip.Prefix]bucket{}}
}

// Allow reports whether remote (an http.Request's RemoteAddr) may try
// to authenticate now; when not, it also returns how long until it may.
func (l *Limiter) Allow(remote string) (time.Duration, bool) {
	k := limitKey(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.refillLocked(k)
	if !ok || b.left > 0 {
		return 0, true
	}
	return Refill - l.now().Sub(b.at), false
}

// Fail takes one token from remote's bucket.
func (l *Limiter) Fail(remote string) {
	k := limitKey(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.refillLocked(k)
	if !ok {
		l.makeRoomLocked()
		b = bucket{left: Burst, at: l.now()}
	}
	if b.left > 0 {
		b.left--
	}
	l.buckets[k] = b
}

// Succeed forgets remote's failures: an address fails Burst times in a
// row, not in all, before it is refused.
func (l *Limiter) Succeed(remote string) {
	k := limitKey(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, k)
}

// refillLocked adds the tokens earned since the bucket's time, and
// forgets a bucket that is full again. It reports whether k has a bucket
// that is not full.
func (l *Limiter) refillLocked(k netip.Prefix) (bucket, bool) {
	b, ok := l.buckets[k]
	if !ok {
		return bucket{}, false
	}
	earned := int(l.now().Sub(b.at) / Refill)
	if b.left+earned >= Burst {
		delete(l.buckets, k)
		return bucket{}, false
	}
	b.left += earned
	b.at = b.at.Add(time.Duration(earned) * Refill)
	l.buckets[k] = b
	return b, true
}

// makeRoomLocked, when the limiter is full, forgets the buckets that
// have refilled and, if none has, the one with the oldest failure.
func (l *Limiter) makeRoomLocked() {
	if len(l.buckets) < MaxLimited {
		return
	}
	var oldest netip.Prefix
	var oldestAt time.Time
	for k := range l.buckets {
		b, ok := l.refillLocked(k)
		if ok && (oldestAt.IsZero() || b.at.Before(oldestAt)) {
			oldest, oldestAt = k, b.at
		}
	}
	if len(l.buckets) >= MaxLimited {
		delete(l.buckets, oldest)
	}
}

// limitKey returns the address remote counts against: itself for IPv4,
// its /64 for IPv6, and one shared key for what does not parse.
func limitKey(remote string) netip.Prefix {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}
