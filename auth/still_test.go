package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// admit sends a request through Require and returns it as the handler
// saw it, for Still.
func admit(t testing.TB, g *Guard, method string, h http.Header) *http.Request {
	t.Helper()
	req := httptest.NewRequest(method, "/api/v1/events", nil)
	for k, vs := range h {
		req.Header[k] = vs
	}
	var seen *http.Request
	g.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
	})).ServeHTTP(httptest.NewRecorder(), req)
	if seen == nil {
		t.Fatalf("Require refused %s with %v", method, h)
	}
	return seen
}

// setRing gives r's guard a keyring of entries.
func (r *rig) setRing(t *testing.T, entries ...Entry) {
	t.Helper()
	ring, err := NewKeyring(entries)
	if err != nil {
		t.Fatal(err)
	}
	r.g.SetKeyring(ring)
}

func TestStill(t *testing.T) {
	type cred int
	const (
		opBearer cred = iota
		viewBearer
		opSession
		viewSession
	)
	alice := func(r *rig, role Role) Entry { return Entry{Name: "alice", Role: role, Hash: Hash(r.opTok)} }
	bob := func(r *rig, role Role) Entry { return Entry{Name: "bob", Role: role, Hash: Hash(r.viewTok)} }
	tests := []struct {
		name   string
		cred   cred
		method string
		change func(t *testing.T, r *rig, info SessionInfo, c *http.Cookie)
		want   bool
	}{
		{"operator bearer, nothing changed", opBearer, "GET", nil, true},
		{"viewer session, nothing changed", viewSession, "GET", nil, true},
		{"bearer token removed", opBearer, "GET", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.setRing(t, bob(r, Viewer))
		}, false},
		{"every token removed", viewBearer, "GET", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.setRing(t)
		}, false},
		{"another token removed", viewBearer, "GET", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.setRing(t, bob(r, Viewer))
		}, true},
		{"session's token removed", opSession, "GET", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.setRing(t, bob(r, Viewer))
		}, false},
		{"session signed out", viewSession, "GET", func(t *testing.T, r *rig, info SessionInfo, c *http.Cookie) {
			r.do(t, "POST", "/logout", withCookie(c, CSRFHeader, info.CSRF), "")
		}, false},
		{"session expired", opSession, "GET", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.clock.advance(SessionTTL)
		}, false},
		{"session not yet expired", opSession, "GET", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.clock.advance(SessionTTL - time.Second)
		}, true},
		{"operator lowered to viewer, reading", opBearer, "GET", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.setRing(t, alice(r, Viewer), bob(r, Viewer))
		}, false},
		{"operator session lowered to viewer, posting", opSession, "POST", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.setRing(t, alice(r, Viewer), bob(r, Viewer))
		}, false},
		{"viewer raised to operator", viewSession, "HEAD", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.setRing(t, alice(r, Operator), bob(r, Operator))
		}, true},
		{"token renamed", viewBearer, "GET", func(t *testing.T, r *rig, _ SessionInfo, _ *http.Cookie) {
			r.setRing(t, alice(r, Operator), Entry{Name: "carol", Role: Viewer, Hash: Hash(r.viewTok)})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			var h http.Header
			var info SessionInfo
			var c *http.Cookie
			switch tt.cred {
			case opBearer:
				h = bearer(r.opTok)
			case viewBearer:
				h = bearer(r.viewTok)
			case opSession, viewSession:
				tok := r.opTok
				if tt.cred == viewSession {
					tok = r.viewTok
				}
				c, info = r.login(t, tok)
				h = withCookie(c, CSRFHeader, info.CSRF)
			}
			req := admit(t, r.g, tt.method, h)
			if !r.g.Still(req) {
				t.Fatalf("Still() right after Require = false, want true")
			}
			if tt.change != nil {
				tt.change(t, r, info, c)
			}
			if got := r.g.Still(req); got != tt.want {
				t.Errorf("Still(%s request) = %v, want %v", tt.method, got, tt.want)
			}
		})
	}
}

func TestStillOutsideRequire(t *testing.T) {
	r := newRig(t)
	req := httptest.NewRequest("GET", "/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+r.opTok)
	if r.g.Still(req) {
		t.Errorf("Still(request that did not pass Require) = true, want false")
	}
}

// BenchmarkStill measures the check an event stream makes per event.
func BenchmarkStill(b *testing.B) {
	for _, n := range []int{2, 100} {
		var entries []Entry
		var tok string
		for i := range n {
			t, e := newTestToken(b, fmt.Sprintf("user%d", i), Viewer)
			tok, entries = t, append(entries, e)
		}
		ring, err := NewKeyring(entries)
		if err != nil {
			b.Fatal(err)
		}
		g, err := NewGuard(Config{Keyring: ring})
		if err != nil {
			b.Fatal(err)
		}
		req := admit(b, g, "GET", bearer(tok))
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			for b.Loop() {
				if !g.Still(req) {
					b.Fatal("Still() = false")
				}
			}
		})
	}
}
