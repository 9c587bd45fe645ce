package auth

import (
	"testing"
	"time"
)

func TestSessionExpiry(t *testing.T) {
	c := newClock()
	s := newSessions(0, 0, c.now)
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
	s := newSessions(time.Hour, 3, c.now)
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
	s := newSessions(0, 0, nil)
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
