package auth

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSuccessResetsFailures(t *testing.T) {
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	wrong := "rbt_" + strings.Repeat("A", 42) + "E"
	tests := []struct {
		name string
		try  func(t *testing.T, r *rig, tok string) answer
	}{
		{"sign-in", func(t *testing.T, r *rig, tok string) answer {
			return r.do(t, "POST", "/login", form, "token="+tok)
		}},
		{"bearer", func(t *testing.T, r *rig, tok string) answer {
			return r.do(t, "GET", "/api/v1/thing", bearer(tok), "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			for round := range 3 {
				for i := range Burst - 1 {
					if got := tt.try(t, r, wrong); got.status != 401 {
						t.Fatalf("round %d: wrong token %d = %d, want 401", round+1, i+1, got.status)
					}
				}
				if got := tt.try(t, r, r.opTok); got.status != 200 {
					t.Fatalf("round %d: right token after %d failures = %d %q, want 200",
						round+1, Burst-1, got.status, got.code)
				}
			}
		})
	}
}

func TestViewerCannotSignOthersOut(t *testing.T) {
	r := newRigWith(t, func(c *Config) { c.MaxSessions = 40 })
	op, _ := r.login(t, r.opTok)
	var bobs []*http.Cookie
	for range 100 {
		r.clock.advance(time.Second)
		c, _ := r.login(t, r.viewTok)
		bobs = append(bobs, c)
	}
	if got := r.do(t, "GET", "/api/v1/thing", withCookie(op), ""); got.status != 200 {
		t.Errorf("operator's session after 100 viewer sign-ins = %d, want 200", got.status)
	}
	var live, want []int
	for i, c := range bobs {
		if r.do(t, "GET", "/api/v1/thing", withCookie(c), "").status == 200 {
			live = append(live, i+1)
		}
		if i >= len(bobs)-MaxSessionsPerToken {
			want = append(want, i+1)
		}
	}
	if diff := cmp.Diff(want, live); diff != "" {
		t.Errorf("viewer sessions still signed in (-want +got):\n%s", diff)
	}
}

func TestSignInLogRate(t *testing.T) {
	r := newRig(t)
	for range 3 {
		r.login(t, r.viewTok)
	}
	r.login(t, r.opTok)
	r.clock.advance(time.Minute)
	r.login(t, r.viewTok)
	logs := r.logs.String()
	for _, tt := range []struct {
		line string
		want int
	}{
		{`level=INFO msg="signed in" name=bob role=viewer remote=127.0.0.1` + "\n", 1},
		{`level=DEBUG msg="signed in" name=bob role=viewer remote=127.0.0.1` + "\n", 2},
		{`level=INFO msg="signed in" name=alice role=operator remote=127.0.0.1` + "\n", 1},
		{`level=INFO msg="signed in" name=bob role=viewer remote=127.0.0.1 suppressed=2` + "\n", 1},
	} {
		if got := strings.Count(logs, tt.line); got != tt.want {
			t.Errorf("the log has %q %d times, want %d:\n%s", tt.line, got, tt.want, logs)
		}
	}
}

func TestEmptyKeyringRevokesAll(t *testing.T) {
	r := newRig(t)
	c, _ := r.login(t, r.opTok)
	r.setRing(t)
	for _, h := range []http.Header{bearer(r.opTok), bearer(r.viewTok), withCookie(c)} {
		if got := r.do(t, "GET", "/api/v1/thing", h, ""); got.status != 401 {
			t.Errorf("GET with %v and no token in force = %d, want 401", h, got.status)
		}
	}
	// Putting the tokens back does not bring the ended session back.
	r.setRing(t, Entry{Name: "alice", Role: Operator, Hash: Hash(r.opTok)})
	if got := r.do(t, "GET", "/api/v1/thing", bearer(r.opTok), ""); got.status != 200 {
		t.Errorf("GET with the token put back = %d, want 200", got.status)
	}
	if got := r.do(t, "GET", "/api/v1/thing", withCookie(c), ""); got.status != 401 {
		t.Errorf("GET with a session its token's removal ended = %d, want 401", got.status)
	}
	if n := r.g.sessions.count(); n != 0 {
		t.Errorf("the guard holds %d sessions, want 0", n)
	}
}
