package kubestore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// probeInterval is how often the store asks the API server whether it
// is ready.
const probeInterval = time.Second

// Health says whether the store reaches its API server.
type Health struct {
	// Degraded is true while the API server cannot be reached: reads
	// answer from the cache, which may be stale, status writes and
	// Events wait, and synchronous writes fail with ErrUnavailable. It
	// is true too while the API server refuses the queued writes (401 or
	// 403: just restarted, or rackboot lacks a permission); they wait.
	// And it is true while the API server refuses to list a resource
	// the store keeps (no permission in the namespace, CRDs missing):
	// the caches miss it and WaitSynced waits.
	Degraded bool
	// Reason says why, in words, with the API server's own message and
	// none of client-go's wrapping: "kubernetes api server refuses to
	// list machines in namespace rb: machines.rackboot.io is forbidden:
	// ..."; empty when not degraded.
	Reason string
	// Since is when the store became degraded, or healthy again; zero
	// before either happened.
	Since time.Time
	// QueuedWrites counts the Machine status writes waiting.
	QueuedWrites int
}

// health tracks whether the API server answers.
type health struct {
	now func() time.Time

	mu       sync.Mutex
	degraded bool      // guarded by mu
	reason   string    // guarded by mu
	since    time.Time // guarded by mu
	// refused is the API server's refusal of the last queued write, nil
	// once one is accepted; guarded by mu. It keeps the store degraded
	// even while the API server answers its probe.
	refused error
	// lists holds the resources the API server refuses to list, by
	// resource ("machines"), until the informer lists again; guarded by
	// mu. They keep the store degraded too: its caches miss them.
	lists map[string]listRefusal
}

// refuseList records that the API server refused to list what with err
// while the informer had listed up to rv; it reports whether what was
// listed before.
func (h *health) refuseList(what string, err error, rv string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lists == nil {
		h.lists = map[string]listRefusal{}
	}
	_, was := h.lists[what]
	if len(h.lists) == 0 && h.refused == nil {
		h.since = h.now().UTC()
	}
	h.lists[what] = listRefusal{err: err, rv: rv}
	return !was
}

// clearList forgets the refusal to list what once the informer's last
// synced resourceVersion is no longer the one it had when refused.
func (h *health) clearList(what, rv string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.lists[what]; ok && r.rv != rv {
		delete(h.lists, what)
		if len(h.lists) == 0 {
			h.since = h.now().UTC()
		}
	}
}

// refuse records that the API server refused a queued write with err.
func (h *health) refuse(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refused == nil {
		h.since = h.now().UTC()
	}
	h.refused = err
}

// accept records that the API server took a queued write.
func (h *health) accept() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refused != nil {
		h.refused, h.since = nil, h.now().UTC()
	}
}

// down marks the store degraded by err; it reports whether it was not
// degraded yet.
func (h *health) down(err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.degraded {
		return false
	}
	h.degraded, h.since = true, h.now().UTC()
	h.reason = "kubernetes api server unreachable: " + plain(err)
	return true
}

// up marks the store healthy; it reports whether it was degraded.
func (h *health) up() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	was := h.degraded
	if was {
		h.degraded, h.reason, h.since = false, "", h.now().UTC()
	}
	return was
}

// Health returns the store's health now.
func (s *Store) Health() Health {
	s.health.mu.Lock()
	h := Health{Degraded: s.health.degraded, Reason: s.health.reason, Since: s.health.since}
	if r := s.health.refusalReasonLocked(s.ns); !h.Degraded && r != "" {
		h.Degraded, h.Reason = true, r
	}
	if !h.Degraded && s.health.refused != nil {
		h.Degraded = true
		h.Reason = "kubernetes api server refuses rackboot's queued writes: " + plain(s.health.refused)
	}
	s.health.mu.Unlock()
	h.QueuedWrites = s.writer.queued()
	return h
}

// probe asks the API server's /readyz every probeInterval until ctx
// ends, marking the store degraded or healthy by the answer. Back to
// healthy, it sends the queued status writes at once.
func (s *Store) probe(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.clearRefusals()
		if err := s.ping(ctx); err != nil {
			if ctx.Err() == nil && s.health.down(err) {
				s.log.Warn("kubestore: degraded, answering from cache", "err", err)
			}
			continue
		}
		if s.health.up() {
			s.log.Info("kubestore: the api server answers again; sending queued writes")
			s.writer.kick()
		}
	}
}

// ping asks the API server whether it is ready.
func (s *Store) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeInterval)
	defer cancel()
	body, err := s.core.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
	if err != nil {
		return err
	}
	if string(body) != "ok" {
		return fmt.Errorf("readyz says %q", body)
	}
	return nil
}

// limiterWrap is how client-go wraps the error of a request its own rate
// limiter gave up on.
const limiterWrap = "client rate limiter Wait returned an error: "

// rateWait is golang.org/x/time/rate's word for a wait past the deadline.
var rateWait = regexp.MustCompile(`rate: Wait\(n=\d+\) would exceed context deadline`)

// plain returns err in the words an operator needs: the API server's own
// message for a refusal, and client-go's rate limiter wrapping taken off
// anything else ("client rate limiter Wait returned an error: rate:
// Wait(n=1) would exceed context deadline" reads "context deadline
// exceeded").
func plain(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Message != "" {
		return st.Status().Message
	}
	msg := strings.ReplaceAll(err.Error(), limiterWrap, "")
	return rateWait.ReplaceAllString(msg, context.DeadlineExceeded.Error())
}
