package dhcp

import (
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Limits of the classification cache.
const (
	classCacheSize = 4096
	classCacheTTL  = 2 * time.Minute
)

// classKey identifies one DHCP exchange: a client and its transaction.
type classKey struct {
	mac string
	xid dhcpv4.TransactionID
}

type classEntry struct {
	key   classKey
	class Class
	until time.Time
}

// classCache carries a DISCOVER's classification to the REQUEST of the same
// exchange, for boot ROMs that leave option 60 or 93 out of the REQUEST
// (FORMATS case 4). It holds at most classCacheSize entries, evicting the
// oldest, each for classCacheTTL. It is safe for concurrent use.
type classCache struct {
	mu sync.Mutex
	// guarded by mu:
	byKey map[classKey]int // index into ring
	ring  []classEntry     // insertion order, oldest at head
	head  int
}

func newClassCache() *classCache {
	return &classCache{
		byKey: make(map[classKey]int),
		ring:  make([]classEntry, 0, classCacheSize),
	}
}

// put remembers c for k until now+classCacheTTL.
func (cc *classCache) put(k classKey, c Class, now time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e := classEntry{key: k, class: c, until: now.Add(classCacheTTL)}
	if i, ok := cc.byKey[k]; ok {
		cc.ring[i] = e
		return
	}
	if len(cc.ring) < cap(cc.ring) {
		cc.byKey[k] = len(cc.ring)
		cc.ring = append(cc.ring, e)
		return
	}
	delete(cc.byKey, cc.ring[cc.head].key)
	cc.ring[cc.head] = e
	cc.byKey[k] = cc.head
	cc.head = (cc.head + 1) % len(cc.ring)
}

// get returns the class remembered for k, if it has not expired at now.
func (cc *classCache) get(k classKey, now time.Time) (Class, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	i, ok := cc.byKey[k]
	if !ok || !now.Before(cc.ring[i].until) {
		return Class{}, false
	}
	return cc.ring[i].class, true
}
