// Package lograte keeps repeated warnings from flooding an operator's log.
// A Limiter lets one line per key through per interval, sends the repeats
// to Debug and reports how many it held back on the next line it lets
// through:
//
//	lim := lograte.New(time.Minute, nil)
//	lim.Log(ctx, log, slog.LevelWarn, "pool-full/"+subnet, "no free address",
//		"ip", subnet)
//
// Keys are the reason and what it is about (a MAC, a pool, a client
// address), so one noisy client cannot hide another's trouble.
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// MaxKeys bounds the keys a Limiter remembers. Beyond it, keys whose last
// line is older than the interval are forgotten, and until that frees some,
// new keys share one extra overflow key, so memory stays bounded however
// many clients misbehave.
const MaxKeys = 4096

// overflowKey is the key of lines whose own key found no room.
const overflowKey = "\x00overflow"

// Limiter decides which repeated log lines go out. It is safe for
// concurrent use.
type Limiter struct {
	every time.Duration
	now   func() time.Time

	mu sync.Mutex
	// guarded by mu:
	keys  map[string]*state
	swept time.Time // when addLocked last looked for old keys
}

// state is the history of one key.
type state struct {
	last       time.Time // when a line last went out
	suppressed uint64    // lines held back since then
}

// New returns a Limiter that lets one line per key through every every,
// reading time from now (nil: time.Now).
func New(every time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, now: now, keys: make(map[string]*state)}
}

// Allow reports whether a line for key may go out now. When it may,
// suppressed is the number of lines for key held back since the last one
// went out; when it may not, the line is counted as held back.
func (l *Limiter) Allow(key string) (suppressed uint64, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.keys[key]
	if st == nil {
		st = l.addLocked(key, now)
	}
	if !st.last.IsZero() && now.Sub(st.last) < l.every {
		st.suppressed++
		return 0, false
	}
	suppressed, st.last, st.suppressed = st.suppressed, now, 0
	return suppressed, true
}

// addLocked makes the state of a new key, or returns the overflow key's
// when there is no room. It looks for old keys to forget at most once per
// interval, so a flood of new keys costs no more than a map lookup each.
func (l *Limiter) addLocked(key string, now time.Time) *state {
	if len(l.keys) >= MaxKeys && now.Sub(l.swept) >= l.every {
		l.swept = now
		for k, st := range l.keys {
			if now.Sub(st.last) >= l.every && k != overflowKey {
				delete(l.keys, k)
			}
		}
	}
	if len(l.keys) >= MaxKeys {
		key = overflowKey
		if st := l.keys[key]; st != nil {
			return st
		}
	}
	st := &state{}
	l.keys[key] = st
	return st
}

// Log logs msg and args through log at level when Allow(key) lets it,
// adding a "suppressed" count when earlier lines were held back; a line
// held back goes to Debug instead, so per-event detail stays there.
func (l *Limiter) Log(ctx context.Context, log *slog.Logger, level slog.Level,
	key, msg string, args ...any) {
	if !log.Enabled(ctx, level) {
		log.Log(ctx, slog.LevelDebug, msg, args...)
		return
	}
	suppressed, ok := l.Allow(key)
	switch {
	case !ok:
		level = slog.LevelDebug
	case suppressed > 0:
		args = append(args, "suppressed", suppressed)
	}
	log.Log(ctx, level, msg, args...)
}
