package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
)

// Session limits.
const (
	// SessionTTL is how long a browser session lasts after sign-in.
	SessionTTL = 12 * time.Hour
	// MaxSessionsPerToken bounds the sessions one token holds at once;
	// a sign-in beyond it ends that token's oldest session, so no token
	// holder can crowd out the others' sessions.
	MaxSessionsPerToken = 16
	// MaxSessions bounds the sessions held at once, a last resort behind
	// MaxSessionsPerToken; beyond it the one closest to its end is
	// dropped.
	MaxSessions = 10000
)

// session is one signed-in browser.
type session struct {
	// ID is the cookie's value, 32 random bytes in base64url.
	ID string
	// CSRF is the token a state-changing request must repeat in the
	// X-CSRF-Token header.
	CSRF string
	// Expires is when the session ends.
	Expires time.Time

	// tokenHash is the hash of the token signed in with, so a session
	// ends with its token and takes the token's current role.
	tokenHash string
}

// storeKey is how the store files a session: the SHA-256 of its ID.
type storeKey = [sha256.Size]byte

// sessionStore holds the sessions in memory; a restart signs everyone out.
// It is safe for concurrent use.
type sessionStore struct {
	ttl      time.Duration
	max      int
	perToken int
	now      func() time.Time

	mu sync.Mutex
	// guarded by mu:
	byKey   map[storeKey]session  // by the hash of the ID
	byToken map[string][]storeKey // by token hash, oldest first
	pruned  time.Time             // when expired sessions were last dropped
}

// newSessions returns an empty store of sessions lasting ttl (0:
// SessionTTL), at most max at once (0: MaxSessions) and perToken per
// token (0: MaxSessionsPerToken), timed by now (nil: time.Now).
func newSessions(ttl time.Duration, max, perToken int, now func() time.Time) *sessionStore {
	if ttl <= 0 {
		ttl = SessionTTL
	}
	if max <= 0 {
		max = MaxSessions
	}
	if perToken <= 0 {
		perToken = MaxSessionsPerToken
	}
	if now == nil {
		now = time.Now
	}
	return &sessionStore{ttl: ttl, max: max, perToken: perToken, now: now,
		byKey: map[storeKey]session{}, byToken: map[string][]storeKey{}}
}

// key is how the store files a session: by the hash of its ID, so lookups
// take no time that depends on the secret itself.
func key(id string) storeKey { return sha256.Sum256([]byte(id)) }

// create starts a session for the token with hash tokenHash, ending that
// token's oldest session when it holds perToken already.
func (s *sessionStore) create(tokenHash string) (session, error) {
	id, err := randomString()
	if err != nil {
		return session{}, err
	}
	csrf, err := randomString()
	if err != nil {
		return session{}, err
	}
	now := s.now()
	sess := session{ID: id, CSRF: csrf, Expires: now.Add(s.ttl), tokenHash: tokenHash}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.makeRoomLocked(now)
	s.limitTokenLocked(tokenHash, now)
	k := key(id)
	s.byKey[k] = sess
	s.byToken[tokenHash] = append(s.byToken[tokenHash], k)
	return sess, nil
}

// lookup returns the live session with the ID id.
func (s *sessionStore) lookup(id string) (session, bool) {
	k := key(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byKey[k]
	if ok && !s.now().Before(sess.Expires) {
		s.dropLocked(k)
		return session{}, false
	}
	return sess, ok
}

// remove ends the session with the ID id, if there is one.
func (s *sessionStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(key(id))
}

// retain ends every session whose token hash keep refuses.
func (s *sessionStore) retain(keep func(tokenHash string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, keys := range s.byToken {
		if keep(h) {
			continue
		}
		for _, k := range keys {
			delete(s.byKey, k)
		}
		delete(s.byToken, h)
	}
}

// count returns how many sessions the store holds, expired ones not yet
// dropped included.
func (s *sessionStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
}

// dropLocked ends the session filed under k, if there is one.
func (s *sessionStore) dropLocked(k storeKey) {
	sess, ok := s.byKey[k]
	if !ok {
		return
	}
	delete(s.byKey, k)
	keys := s.byToken[sess.tokenHash]
	for i := range keys {
		if keys[i] == k {
			keys = append(keys[:i], keys[i+1:]...)
			break
		}
	}
	if len(keys) == 0 {
		delete(s.byToken, sess.tokenHash)
	} else {
		s.byToken[sess.tokenHash] = keys
	}
}

// limitTokenLocked drops the token's expired sessions and, when it still
// holds perToken, its oldest ones, to leave room for one more.
func (s *sessionStore) limitTokenLocked(tokenHash string, now time.Time) {
	keys := s.byToken[tokenHash]
	live := keys[:0]
	for _, k := range keys {
		if now.Before(s.byKey[k].Expires) {
			live = append(live, k)
		} else {
			delete(s.byKey, k)
		}
	}
	for len(live) >= s.perToken {
		delete(s.byKey, live[0])
		live = live[1:]
	}
	if len(live) == 0 {
		delete(s.byToken, tokenHash)
	} else {
		s.byToken[tokenHash] = live
	}
}

// makeRoomLocked drops expired sessions (at most once a minute unless the
// store is full) and, when the store is still full, the session closest
// to its end.
func (s *sessionStore) makeRoomLocked(now time.Time) {
	if len(s.byKey) < s.max && now.Sub(s.pruned) < time.Minute {
		return
	}
	s.pruned = now
	var oldest storeKey
	var oldestEnd time.Time
	for k, sess := range s.byKey {
		if !now.Before(sess.Expires) {
			s.dropLocked(k)
		} else if oldestEnd.IsZero() || sess.Expires.Before(oldestEnd) {
			oldest, oldestEnd = k, sess.Expires
		}
	}
	if len(s.byKey) >= s.max {
		s.dropLocked(oldest)
	}
}

// randomString returns 32 random bytes in unpadded base64url.
func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
