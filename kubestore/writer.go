package kubestore

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Timing of the status writer.
const (
	// statusDebounce is how long the writer gathers a machine's events
	// before it writes its status.
	statusDebounce = 250 * time.Millisecond
	// retryDelay is how long it waits before trying again when the API
	// server could not be reached.
	retryDelay = time.Second
)

// statusWriter writes the status of each Machine whose MACs had events,
// at most once per statusDebounce, merged with what other replicas wrote.
// While the API server is unreachable the machines wait in dirty.
type statusWriter struct {
	s *Store
	c chan struct{} // a machine was marked

	mu       sync.Mutex
	dirty    map[string]bool // machine names to write; guarded by mu
	inflight int             // names taken but not written yet; guarded by mu
}

func newStatusWriter(s *Store) *statusWriter {
	return &statusWriter{s: s, c: make(chan struct{}, 1), dirty: map[string]bool{}}
}

// mark asks for a write of the status of the Machine called name.
func (w *statusWriter) mark(name string) {
	w.mu.Lock()
	w.dirty[name] = true
	w.mu.Unlock()
	w.kick()
}

func (w *statusWriter) kick() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// queued returns how many status writes wait.
func (w *statusWriter) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.dirty) + w.inflight
}

// take returns the names to write now and empties dirty.
func (w *statusWriter) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(w.dirty))
	for name := range w.dirty {
		names = append(names, name)
	}
	clear(w.dirty)
	w.inflight = len(names)
	return names
}

// done notes that a write ended; failed names go back to dirty.
func (w *statusWriter) done(name string, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	if failed {
		w.dirty[name] = true
	}
}

// run writes statuses until ctx ends.
func (w *statusWriter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.c:
		}
		if !sleep(ctx, statusDebounce) {
			return
		}
		if !w.writeAll(ctx) && !sleep(ctx, retryDelay) {
			return
		}
	}
}

// writeAll writes every machine marked so far; false when the API server
// could not be reached, and the machines left wait for the next try.
func (w *statusWriter) writeAll(ctx context.Context) bool {
	ok := true
	for _, name := range w.take() {
		if !ok {
			w.done(name, true)
			continue
		}
		err := w.s.writeStatus(ctx, name)
		switch {
		case err != nil && isUnavailable(err):
			ok = false
			w.s.health.down(err)
		case err != nil && retryLater(err):
			ok = false
			w.s.health.refuse(err)
		case err != nil:
			w.s.log.Warn("kubestore: writing a machine's status", "path", w.s.ns+"/"+name, "err", err)
		default:
			w.s.health.up()
			w.s.health.accept()
		}
		w.done(name, !ok)
	}
	if !ok {
		w.kick()
	}
	return ok
}

// writeStatus writes the status of the Machine called name as memory
// has it, merged with what the API server holds, with the Accepted
// condition ReportLeftOut asked for; the replica whose write turns it
// False records the LeftOut Event. On a conflict it reads the Machine
// again and retries.
func (s *Store) writeStatus(ctx context.Context, name string) error {
	m, ok := s.cachedMachine(name)
	if !ok {
		return nil
	}
	for try := 0; ; try++ {
		next := m.DeepCopy()
		if !s.composeStatus(next) {
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		out, err := s.writeMachine(cctx, next, false, true)
		cancel()
		switch {
		case err == nil:
			if wentLeftOut(m, out) {
				s.recordLeftOut(out)
			}
			return nil
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err) && try < maxTries:
			backoff(ctx, try)
			if m, err = s.getMachine(ctx, name); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
