package inventory

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Notice is one recorded event and the MAC whose timeline it joined.
type Notice struct {
	MAC   string `json:"mac"`
	Event Event  `json:"event"`
}

// Hub hands every recorded event to the watchers of a Backend. The zero
// Hub is ready for use; a Backend calls Publish after each event it
// records and serves Watch from it.
type Hub struct {
	mu       sync.Mutex
	watchers map[*Watcher]struct{}
}

// Watcher receives the events a Store records after Watch returned it.
// A watcher that falls behind is closed and marked lagged rather than
// slowing the store down: its owner re-reads what it missed with
// EventsSince and watches again.
type Watcher struct {
	c      chan Notice
	h      *Hub
	lagged bool // guarded by h.mu
	closed bool // guarded by h.mu
}

// Watch returns a watcher of the events recorded from now on. buf is how
// many undelivered events it may hold before it is closed as lagged.
func (s *Store) Watch(buf int) *Watcher { return s.hub.Watch(buf) }

// Watch returns a watcher of the events published from now on. buf is how
// many undelivered events it may hold before it is closed as lagged.
func (h *Hub) Watch(buf int) *Watcher {
	w := &Watcher{c: make(chan Notice, max(buf, 1)), h: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watchers == nil {
		h.watchers = make(map[*Watcher]struct{})
	}
	h.watchers[w] = struct{}{}
	return w
}

// C is the channel of events. It is closed by Close or when the watcher
// lags; Lagged tells the two apart.
func (w *Watcher) C() <-chan Notice { return w.c }

// Lagged reports whether the watcher was closed because it fell behind.
func (w *Watcher) Lagged() bool {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	return w.lagged
}

// Close stops the watcher and closes its channel. It may be called more
// than once.
func (w *Watcher) Close() {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	w.h.drop(w)
}

// drop removes w and closes its channel; h.mu is held.
func (h *Hub) drop(w *Watcher) {
	if w.closed {
		return
	}
	w.closed = true
	delete(h.watchers, w)
	close(w.c)
}

// Publish hands n to every watcher without blocking; a watcher with no
// room left is closed as lagged.
func (h *Hub) Publish(n Notice) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		select {
		case w.c <- n:
		default:
			w.lagged = true
			h.drop(w)
		}
	}
}

// EventsSince returns up to limit events whose Seq is above after, in Seq
// order: what a watcher missed. mac "" means every machine; limit <= 0
// means no limit. Over every machine it reads the whole event log, so it
// is for catching up, not for polling.
func (s *Store) EventsSince(after uint64, mac string, limit int) ([]Notice, error) {
	if mac != "" {
		events, err := s.TimelineSince(mac, after)
		out := make([]Notice, len(events))
		for i, e := range events {
			out[i] = Notice{MAC: mac, Event: e}
		}
		return capNotices(out, limit), err
	}
	var out []Notice
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			n, err := decodeNotice(k, v)
			if err != nil || n.Event.Seq <= after {
				return err
			}
			out = append(out, n)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading events since %d: %w", after, err)
	}
	slices.SortFunc(out, func(a, b Notice) int {
		return cmp.Compare(a.Event.Seq, b.Event.Seq)
	})
	return capNotices(out, limit), nil
}

// decodeNotice decodes one entry of the events bucket, whose key is the
// MAC, "/" and the big-endian sequence number.
func decodeNotice(k, v []byte) (Notice, error) {
	i := bytes.LastIndexByte(k[:max(len(k)-8, 0)], '/')
	if i < 0 {
		return Notice{}, fmt.Errorf("event key %x has no MAC", k)
	}
	n := Notice{MAC: string(k[:i])}
	if err := json.Unmarshal(v, &n.Event); err != nil {
		return Notice{}, fmt.Errorf("decoding event %x: %w", k, err)
	}
	return n, nil
}

func capNotices(ns []Notice, limit int) []Notice {
	if limit > 0 && len(ns) > limit {
		return ns[:limit]
	}
	return ns
}
