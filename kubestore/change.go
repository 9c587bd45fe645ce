package kubestore

import (
	"context"
	"sync"
	"time"
)

// changeDebounce is how long the change hook waits for more changes.
const changeDebounce = 100 * time.Millisecond

// changeHook calls the functions OnChange registered, once per burst of
// changes.
type changeHook struct {
	mu  sync.Mutex
	fns []func() // guarded by mu

	once sync.Once
	c    chan struct{} // a pending change; made by init
}

func (h *changeHook) init() { h.once.Do(func() { h.c = make(chan struct{}, 1) }) }

func (h *changeHook) add(fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fns = append(h.fns, fn)
}

// kick notes a change without blocking.
func (h *changeHook) kick() {
	h.init()
	select {
	case h.c <- struct{}{}:
	default:
	}
}

// run calls the hooks changeDebounce after each burst of kicks, until
// ctx ends.
func (h *changeHook) run(ctx context.Context) {
	h.init()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.c:
		}
		if !settle(ctx, h.c, changeDebounce) {
			return
		}
		h.mu.Lock()
		fns := append([]func(){}, h.fns...)
		h.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	}
}

// settle waits until c has stayed quiet for d, draining it; false when
// ctx ended first.
func settle(ctx context.Context, c <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-c:
			t.Reset(d)
		case <-t.C:
			return true
		}
	}
}
