package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

// Limits of the event stream.
const (
	// maxStreams caps the event streams open at once in the process;
	// more are refused with 503.
	maxStreams = 256
	// streamBuffer is how many events a stream's watcher holds before it
	// lags; a lagging stream catches up from the store.
	streamBuffer = 256
	// replayBatch is how many missed events a stream reads at a time.
	replayBatch = 500
)

// streamKeepalive is how often a quiet stream sends a comment line, so
// that proxies and browsers keep it open. Tests shorten it.
var streamKeepalive = 20 * time.Second

// openStreams counts the event streams open, against maxStreams.
var openStreams atomic.Int32

// EventSource is what the event stream needs of the server's Inventory;
// *inventory.Inventory implements it. The server looks for it on its
// Inventory: one without it answers /api/v1/events 501.
type EventSource interface {
	// Watch returns a watcher of the events recorded from now on, closed
	// (and marked lagged) when it falls buf events behind.
	Watch(buf int) *inventory.Watcher
	// EventsSince returns up to limit events with a Seq above after, in
	// Seq order; mac "" means every machine.
	EventsSince(after uint64, mac string, limit int) ([]inventory.Notice, error)
}

// eventRoutes adds /api/v1/events.
func (s *Server) eventRoutes(r chi.Router) {
	r.Get("/api/v1/events", s.getEvents)
}

// stream is one open event stream.
type stream struct {
	r    *http.Request   // the request run serves
	done <-chan struct{} // closed when the server shuts down
	w    http.ResponseWriter
	rc   *http.ResponseController
	src  EventSource
	macs []string // the MACs followed; empty means all
	last uint64   // the Seq of the last event sent or skipped
}

// getEvents answers GET /api/v1/events[?mac=M] with a server-sent event
// stream of timeline events (one "timeline" event each, its id the
// event's Seq), from now on, or from after the Last-Event-ID header.
// mac may also be a declared machine's name: then all its MACs.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	src, ok := s.inv.(EventSource)
	if !ok {
		writeError(w, r, http.StatusNotImplemented, "this inventory has no event stream")
		return
	}
	st := &stream{done: s.streamsDone, w: w, rc: http.NewResponseController(w), src: src}
	if !s.streamStart(w, r, st) {
		return
	}
	if openStreams.Add(1) > maxStreams {
		openStreams.Add(-1)
		writeError(w, r, http.StatusServiceUnavailable, "too many event streams open; try again later")
		return
	}
	defer openStreams.Add(-1)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := st.flush(); err != nil {
		return
	}
	err := st.run(r)
	s.log.Debug("event stream ended", "remote", r.RemoteAddr, "err", err)
}

// streamStart reads the query and Last-Event-ID into st, or answers the
// error.
func (s *Server) streamStart(w http.ResponseWriter, r *http.Request, st *stream) bool {
	macs, code, err := s.streamMACs(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, code, err.Error())
		return false
	}
	st.macs = macs
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if st.last, err = strconv.ParseUint(strings.TrimSpace(id), 10, 64); err != nil {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("Last-Event-ID: %q is not an event id", truncate(id)))
			return false
		}
		// An id past the newest event comes from a store since replaced
		// (a restored backup): follow from the newest, or the stream
		// would skip everything up to the old id.
		newest, err := s.newestSeq(nil)
		if err != nil {
			s.internalError(w, r, err)
			return false
		}
		st.last = min(st.last, newest)
		return true
	}
	if st.last, err = s.newestSeq(macs); err != nil {
		s.internalError(w, r, err)
		return false
	}
	return true
}

// streamMACs reads the query of /api/v1/events: nothing, or mac= a MAC or
// a machine's name (then all its MACs). On error it gives the status to
// answer: 404 for a name nothing declares, else 400.
func (s *Server) streamMACs(raw string) ([]string, int, error) {
	q, err := apiQuery(raw, "mac")
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	v := q["mac"]
	if v == "" {
		return nil, 0, nil
	}
	ref, err := s.lookup(v)
	if err != nil {
		code, msg := unknownRef(v, err)
		return nil, code, fmt.Errorf("mac: %s", msg)
	}
	if ref.mac != "" {
		return []string{ref.mac}, 0, nil
	}
	return ref.m.MACs, 0, nil
}

// newestSeq is the Seq of the newest event of macs (all: none given), so
// that a stream starting now replays nothing recorded before it.
func (s *Server) newestSeq(macs []string) (uint64, error) {
	var sts []inventory.Status
	var err error
	if len(macs) == 0 {
		sts, err = s.inv.Statuses()
	}
	for _, mac := range macs {
		st, serr := s.inv.Status(mac)
		if serr == nil {
			sts = append(sts, st)
		} else if !errors.Is(serr, inventory.ErrNotFound) {
			err = serr
		}
	}
	var newest uint64
	for _, st := range sts {
		newest = max(newest, st.LastEvent.Seq)
	}
	return newest, err
}

// errRevoked ends a stream whose credential no longer allows it.
var errRevoked = errors.New("credential revoked")

// run sends events until the client goes, a write fails, the server
// shuts down or the caller's credential is revoked. A watcher that lags
// is replaced, and what it dropped is read from the store.
func (st *stream) run(r *http.Request) error {
	st.r = r
	tick := time.NewTicker(streamKeepalive)
	defer tick.Stop()
	for {
		wt := st.src.Watch(streamBuffer)
		err := st.replay()
		if err == nil {
			err = st.follow(r, wt, tick)
		}
		wt.Close()
		if !errors.Is(err, errLagged) {
			return err
		}
	}
}

var errLagged = errors.New("watcher lagged")

// follow sends wt's events until the request ends, a write fails or wt
// lags (errLagged).
func (st *stream) follow(r *http.Request, wt *inventory.Watcher, tick *time.Ticker) error {
	for {
		select {
		case n, ok := <-wt.C():
			if !ok && wt.Lagged() {
				return errLagged
			}
			if !ok {
				return errors.New("watcher closed")
			}
			if err := st.send(n); err != nil {
				return err
			}
		case <-tick.C:
			if !allowed(r) {
				return errRevoked
			}
			if err := st.write(": keepalive\n\n"); err != nil {
				return err
			}
		case <-r.Context().Done():
			return r.Context().Err()
		case <-st.done:
			return nil
		}
	}
}

// replay sends what was recorded after st.last, batch by batch.
func (st *stream) replay() error {
	mac := ""
	if len(st.macs) == 1 {
		mac = st.macs[0]
	}
	for st.last < math.MaxUint64 {
		ns, err := st.src.EventsSince(st.last, mac, replayBatch)
		if err != nil {
			return err
		}
		for _, n := range ns {
			if err := st.send(n); err != nil {
				return err
			}
		}
		if len(ns) < replayBatch {
			return nil
		}
	}
	return nil
}

// send writes n if the stream follows its MAC and has not sent it yet.
func (st *stream) send(n inventory.Notice) error {
	if n.Event.Seq <= st.last {
		return nil
	}
	st.last = n.Event.Seq
	if len(st.macs) > 0 && !slices.Contains(st.macs, n.MAC) {
		return nil
	}
	if !allowed(st.r) {
		return errRevoked
	}
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return st.write(fmt.Sprintf("event: timeline\nid: %d\ndata: %s\n\n", n.Event.Seq, data))
}

// write sends text now, within writeTimeout.
func (st *stream) write(text string) error {
	st.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := st.w.Write([]byte(text)); err != nil {
		return err
	}
	return st.flush()
}

func (st *stream) flush() error {
	if err := st.rc.Flush(); err != nil {
		return fmt.Errorf("flushing the event stream: %w", err)
	}
	return nil
}
