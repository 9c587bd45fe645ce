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
	// MaxSessions bounds the sessions held at once; beyond it the one
	// closest to its end is dropped.
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

// sessionStore holds the sessions in memory; a restart signs everyone out.
// It is safe for concurrent use.
type sessionStore struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	// guarded by mu:
	byKey  map[[sha256.Size]byte]session // by the hash of the ID
	pruned time.Time                     // when expired sessions were last dropped
}

// newSessions returns an empty store of sessions lasting ttl (0:
// SessionTTL), at most max at once (0: MaxSessions), timed by now (nil:
// time.Now).
func newSessions(ttl time.Duration, max int, now func() time.Time) *sessionStore {
	if ttl <= 0 {
		ttl = SessionTTL
	}
	if max <= 0 {
		max = MaxSessions
	}
	if now == nil {
		now = time.Now
	}
	return &sessionStore{ttl: ttl, max: max, now: now, byKey: map[[sha256.Size]byte]session{}}
}

// key is how the store files a session: by the hash of its ID, so lookups
// take no time that depends on the secret itself.
func key(id string) [sha256.Size]byte { return sha256.Sum256([]byte(id)) }

// create starts a session for the token with hash tokenHash.
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
	s.byKey[key(id)] = sess
	return sess, nil
}

// lookup returns the live session with the ID id.
func (s *sessionStore) lookup(id string) (session, bool) {
	k := key(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byKey[k]
	if ok && !s.now().Before(sess.Expires) {
		delete(s.byKey, k)
		return session{}, false
	}
	return sess, ok
}

// remove ends the session with the ID id, if there is one.
func (s *sessionStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byKey, key(id))
}

// count returns how many sessions the store holds, expired ones not yet
// dropped included.
func (s *sessionStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
}

// makeRoomLocked drops expired sessions (at most once a minute unless the
// store is full) and, when the store is still full, the session closest
// to its end.
func (s *sessionStore) makeRoomLocked(now time.Time) {
	if len(s.byKey) < s.max && now.Sub(s.pruned) < time.Minute {
		return
	}
	s.pruned = now
	var oldest [sha256.Size]byte
	var oldestEnd time.Time
	for k, sess := range s.byKey {
		if !now.Before(sess.Expires) {
			delete(s.byKey, k)
		} else if oldestEnd.IsZero() || sess.Expires.Before(oldestEnd) {
			oldest, oldestEnd = k, sess.Expires
		}
	}
	if len(s.byKey) >= s.max {
		delete(s.byKey, oldest)
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
