package auth

import (
	"testing"
	"time"
)

func TestSessionExpiry(t *testing.T) {
	c := newClock()
	s := newSessions(0, 0, 0, c.now)
	sess, err := s.create(hashA)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.ID) != 43 || len(sess.CSRF) != 43 || sess.ID == sess.CSRF {
		t.Errorf("session ID %q, CSRF %q: want two different 43-character strings", sess.ID, sess.CSRF)
	}
	if got := sess.Expires.Sub(c.now()); got != 12*time.Hour {
		t.Errorf("session lasts %s, want 12h", got)
	}
	c.advance(12*time.Hour - time.Second)
	if _, ok := s.lookup(sess.ID); !ok {
		t.Fatalf("lookup() a second before the end = false, want true")
	}
	c.advance(time.Second)
	if _, ok := s.lookup(sess.ID); ok {
		t.Errorf("lookup() at the end = true, want false")
	}
	if s.count() != 0 {
		t.Errorf("count() = %d after the session ended, want 0", s.count())
	}
	if _, ok := s.lookup("not-a-session"); ok {
		t.Errorf("lookup(unknown) = true")
	}
}

func TestSessionsPruneAndBound(t *testing.T) {
	c := newClock()
	s := newSessions(time.Hour, 3, 0, c.now)
	first := mustCreate(t, s)
	c.advance(time.Minute)
	mustCreate(t, s)
	mustCreate(t, s)
	fourth := mustCreate(t, s) // full: the oldest goes
	if _, ok := s.lookup(first.ID); ok {
		t.Errorf("the oldest session survived a full store")
	}
	if _, ok := s.lookup(fourth.ID); !ok || s.count() != 3 {
		t.Errorf("count() = %d, newest found %v, want 3 and true", s.count(), ok)
	}

	c.advance(2 * time.Hour) // all ended
	mustCreate(t, s)
	if s.count() != 1 {
		t.Errorf("count() = %d after the others ended, want 1", s.count())
	}
	s.remove(fourth.ID)
}

func TestSessionRemove(t *testing.T) {
	s := newSessions(0, 0, 0, nil)
	sess := mustCreate(t, s)
	s.remove(sess.ID)
	if _, ok := s.lookup(sess.ID); ok {
		t.Errorf("lookup() after remove = true")
	}
}

func mustCreate(t *testing.T, s *sessionStore) session {
	t.Helper()
	sess, err := s.create(hashA)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestSessionsPerToken(t *testing.T) {
	c := newClock()
	s := newSessions(time.Hour, 20, 4, c.now)
	other, err := s.create(hashB)
	if err != nil {
		t.Fatal(err)
	}
	var mine []session
	for range 30 {
		c.advance(time.Second)
		mine = append(mine, mustCreate(t, s))
	}
	if _, ok := s.lookup(other.ID); !ok {
		t.Errorf("another token's session ended when one token started 30")
	}
	for i, sess := range mine {
		_, ok := s.lookup(sess.ID)
		if want := i >= len(mine)-4; ok != want {
			t.Errorf("lookup(session %d of %d) = %v, want %v", i+1, len(mine), ok, want)
		}
	}
	if s.count() != 5 {
		t.Errorf("count() = %d, want 5", s.count())
	}

	// Ended sessions leave room: a token's sessions count only live ones.
	s.remove(mine[29].ID)
	c.advance(time.Hour)
	fresh := []session{mustCreate(t, s), mustCreate(t, s), mustCreate(t, s), mustCreate(t, s)}
	for i, sess := range fresh {
		if _, ok := s.lookup(sess.ID); !ok {
			t.Errorf("fresh session %d ended, want all 4 live", i+1)
		}
	}
}
