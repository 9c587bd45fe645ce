package auth

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/internal/testlog"
)

// rig is a Guard in front of a small API, served over a real listener.
type rig struct {
	g       *Guard
	clock   *clock
	logs    *testlog.Buffer
	url     string
	opTok   string // alice, operator
	viewTok string // bob, viewer
}

func newRig(t *testing.T) *rig { return newRigWith(t, nil) }

// newRigWith is newRig with a guard configured further by set, if not nil.
func newRigWith(t *testing.T, set func(*Config)) *rig {
	t.Helper()
	r := &rig{clock: newClock(), logs: &testlog.Buffer{}}
	var alice, bob Entry
	r.opTok, alice = newTestToken(t, "alice", Operator)
	r.viewTok, bob = newTestToken(t, "bob", Viewer)
	ring, err := NewKeyring([]Entry{alice, bob})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{Keyring: ring, Log: log, Now: r.clock.now}
	if set != nil {
		set(&cfg)
	}
	r.g, err = NewGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", r.g.Login)
	mux.HandleFunc("/logout", r.g.Logout)
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/session", r.g.Session)
	api.HandleFunc("/api/v1/thing", func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "by "+r.g.Who(req))
	})
	mux.Handle("/api/", r.g.Require(api))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	r.url = ts.URL
	return r
}

// answer is what a test request got back.
type answer struct {
	status int
	header http.Header
	body   string
	code   string // "code" of a JSON error
}

func (r *rig) do(t *testing.T, method, path string, header http.Header, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct{ Code string }
	json.Unmarshal(raw, &e)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(raw), code: e.Code}
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestRequireBearer(t *testing.T) {
	r := newRig(t)
	tests := []struct {
		name     string
		method   string
		header   http.Header
		want     int
		wantCode string
		wantBody string
	}{
		{"no credentials", "GET", nil, 401, "unauthorized", ""},
		{"unknown token", "GET", bearer("rbt_" + strings.Repeat("A", 42) + "E"), 401, "unauthorized", ""},
		{"garbage", "GET", bearer("hello"), 401, "unauthorized", ""},
		{"basic scheme", "GET", http.Header{"Authorization": {"Basic " + r.opTok}}, 401, "unauthorized", ""},
		{"viewer reads", "GET", bearer(r.viewTok), 200, "", "by bob"},
		{"viewer heads", "HEAD", bearer(r.viewTok), 200, "", ""},
		{"viewer posts", "POST", bearer(r.viewTok), 403, "forbidden", ""},
		{"viewer deletes", "DELETE", bearer(r.viewTok), 403, "forbidden", ""},
		{"operator reads", "GET", bearer(r.opTok), 200, "", "by alice"},
		{"operator posts without csrf", "POST", bearer(r.opTok), 200, "", "by alice"},
		{"lower-case scheme", "PUT", http.Header{"Authorization": {"bearer " + r.opTok}}, 200, "", "by alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.do(t, tt.method, "/api/v1/thing", tt.header, "")
			if got.status != tt.want || got.code != tt.wantCode {
				t.Errorf("%s = %d %q, want %d %q", tt.method, got.status, got.code, tt.want, tt.wantCode)
			}
			if tt.wantBody != "" && got.body != tt.wantBody {
				t.Errorf("%s body = %q, want %q", tt.method, got.body, tt.wantBody)
			}
		})
	}
	got := r.do(t, "GET", "/api/v1/session", bearer(r.viewTok), "")
	if got.status != 200 || got.body != `{"name":"bob","role":"viewer","csrf":""}`+"\n" {
		t.Errorf("GET /api/v1/session with a bearer token = %d %s", got.status, got.body)
	}
	if got := r.do(t, "GET", "/api/v1/session?x=1", bearer(r.viewTok), ""); got.status != 400 || got.code != "bad_request" {
		t.Errorf("GET /api/v1/session?x=1 = %d %q, want 400 bad_request", got.status, got.code)
	}
}

// login signs in with tok as a form and returns the cookie and answer.
func (r *rig) login(t *testing.T, tok string) (*http.Cookie, SessionInfo) {
	t.Helper()
	got := r.do(t, "POST", "/login", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		url.Values{"token": {tok}}.Encode())
	if got.status != 200 {
		t.Fatalf("POST /login = %d %s, want 200", got.status, got.body)
	}
	var info SessionInfo
	if err := json.Unmarshal([]byte(got.body), &info); err != nil {
		t.Fatal(err)
	}
	cookies, err := http.ParseSetCookie(got.header.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	return cookies, info
}

func withCookie(c *http.Cookie, kv ...string) http.Header {
	h := http.Header{"Cookie": {c.Name + "=" + c.Value}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestLoginCookie(t *testing.T) {
	r := newRig(t)
	c, info := r.login(t, r.opTok)
	if info.Name != "alice" || info.Role != Operator || len(info.CSRF) != 43 {
		t.Errorf("POST /login answered %+v, want alice, operator and a CSRF token", info)
	}
	want := http.Cookie{Name: "rackboot_session", Path: "/", MaxAge: 43200, HttpOnly: true,
		Secure: true, SameSite: http.SameSiteStrictMode}
	gotAttrs := http.Cookie{Name: c.Name, Path: c.Path, MaxAge: c.MaxAge, HttpOnly: c.HttpOnly,
		Secure: c.Secure, SameSite: c.SameSite}
	if diff := cmp.Diff(want, gotAttrs); diff != "" {
		t.Errorf("session cookie (-want +got):\n%s", diff)
	}
	if !c.Expires.Equal(r.clock.now().Add(12 * time.Hour).Truncate(time.Second)) {
		t.Errorf("cookie expires %s, want 12h from now", c.Expires)
	}

	sess := r.do(t, "GET", "/api/v1/session", withCookie(c), "")
	var got SessionInfo
	json.Unmarshal([]byte(sess.body), &got)
	if sess.status != 200 || got != info {
		t.Errorf("GET /api/v1/session = %d %+v, want %+v", sess.status, got, info)
	}

	tests := []struct {
		name     string
		method   string
		header   http.Header
		want     int
		wantCode string
	}{
		{"read without csrf", "GET", withCookie(c), 200, ""},
		{"post without csrf", "POST", withCookie(c), 403, "forbidden"},
		{"post with wrong csrf", "POST", withCookie(c, CSRFHeader, strings.Repeat("x", 43)), 403, "forbidden"},
		{"post with the token as csrf", "POST", withCookie(c, CSRFHeader, r.opTok), 403, "forbidden"},
		{"post with csrf", "POST", withCookie(c, CSRFHeader, info.CSRF), 200, ""},
		{"delete with csrf", "DELETE", withCookie(c, CSRFHeader, info.CSRF), 200, ""},
		{"cross-site post with csrf", "POST", withCookie(c, CSRFHeader, info.CSRF,
			"Sec-Fetch-Site", "cross-site"), 403, "forbidden"},
		{"other origin post with csrf", "POST", withCookie(c, CSRFHeader, info.CSRF,
			"Origin", "https://evil.example"), 403, "forbidden"},
		{"unknown session", "GET", withCookie(&http.Cookie{Name: CookieName, Value: "x"}), 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.do(t, tt.method, "/api/v1/thing", tt.header, "")
			if got.status != tt.want || got.code != tt.wantCode {
				t.Errorf("%s = %d %q (%s), want %d %q", tt.method, got.status, got.code,
					strings.TrimSpace(got.body), tt.want, tt.wantCode)
			}
		})
	}
}

func TestViewerSession(t *testing.T) {
	r := newRig(t)
	got := r.do(t, "POST", "/login", http.Header{"Content-Type": {"application/json"}},
		`{"token": "`+r.viewTok+`"}`)
	if got.status != 200 {
		t.Fatalf("POST /login JSON = %d %s", got.status, got.body)
	}
	var info SessionInfo
	json.Unmarshal([]byte(got.body), &info)
	c, _ := http.ParseSetCookie(got.header.Get("Set-Cookie"))
	post := r.do(t, "POST", "/api/v1/thing", withCookie(c, CSRFHeader, info.CSRF), "")
	if post.status != 403 || post.code != "forbidden" {
		t.Errorf("viewer session POST = %d %q, want 403 forbidden", post.status, post.code)
	}
	if get := r.do(t, "GET", "/api/v1/thing", withCookie(c), ""); get.body != "by bob" {
		t.Errorf("viewer session GET = %d %q, want by bob", get.status, get.body)
	}
}

func TestLogout(t *testing.T) {
	r := newRig(t)
	c, info := r.login(t, r.opTok)
	if got := r.do(t, "POST", "/logout", withCookie(c), ""); got.status != 403 {
		t.Errorf("POST /logout without csrf = %d, want 403", got.status)
	}
	got := r.do(t, "POST", "/logout", withCookie(c, CSRFHeader, info.CSRF), "")
	if got.status != 204 || !strings.Contains(got.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("POST /logout = %d, Set-Cookie %q, want 204 and the cookie cleared",
			got.status, got.header.Get("Set-Cookie"))
	}
	if got := r.do(t, "GET", "/api/v1/thing", withCookie(c), ""); got.status != 401 {
		t.Errorf("GET after logout = %d, want 401", got.status)
	}
	if got := r.do(t, "POST", "/logout", nil, ""); got.status != 204 {
		t.Errorf("POST /logout without a session = %d, want 204", got.status)
	}
	if got := r.do(t, "GET", "/logout", nil, ""); got.status != 405 {
		t.Errorf("GET /logout = %d, want 405", got.status)
	}
}

func TestSessionEnds(t *testing.T) {
	r := newRig(t)
	c, _ := r.login(t, r.opTok)
	r.clock.advance(12*time.Hour - time.Second)
	if got := r.do(t, "GET", "/api/v1/thing", withCookie(c), ""); got.status != 200 {
		t.Errorf("GET before the end = %d, want 200", got.status)
	}
	r.clock.advance(time.Second)
	if got := r.do(t, "GET", "/api/v1/thing", withCookie(c), ""); got.status != 401 {
		t.Errorf("GET after 12h = %d, want 401", got.status)
	}
}

func TestSetKeyringEndsSessions(t *testing.T) {
	r := newRig(t)
	c, _ := r.login(t, r.opTok)
	_, bobEntry := newTestToken(t, "bob", Viewer)
	bobEntry.Hash = Hash(r.viewTok)
	ring, err := NewKeyring([]Entry{bobEntry})
	if err != nil {
		t.Fatal(err)
	}
	r.g.SetKeyring(ring)
	if got := r.do(t, "GET", "/api/v1/thing", withCookie(c), ""); got.status != 401 {
		t.Errorf("session of a removed token = %d, want 401", got.status)
	}
	if got := r.do(t, "GET", "/api/v1/thing", bearer(r.opTok), ""); got.status != 401 {
		t.Errorf("removed bearer token = %d, want 401", got.status)
	}
	if got := r.do(t, "GET", "/api/v1/thing", bearer(r.viewTok), ""); got.status != 200 {
		t.Errorf("kept bearer token = %d, want 200", got.status)
	}
}

func TestLoginBadRequests(t *testing.T) {
	r := newRig(t)
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	tests := []struct {
		name     string
		method   string
		header   http.Header
		body     string
		want     int
		wantCode string
	}{
		{"no token", "POST", form, "", 400, "bad_request"},
		{"blank token", "POST", form, "token=+", 400, "bad_request"},
		{"bad json", "POST", http.Header{"Content-Type": {"application/json"}}, "{", 400, "bad_request"},
		{"huge body", "POST", form, "token=" + strings.Repeat("a", 8<<10), 400, "bad_request"},
		{"get", "GET", nil, "", 405, "method_not_allowed"},
		{"cross-site", "POST", http.Header{"Content-Type": form["Content-Type"],
			"Sec-Fetch-Site": {"cross-site"}}, "token=" + r.opTok, 403, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.do(t, tt.method, "/login", tt.header, tt.body)
			if got.status != tt.want || got.code != tt.wantCode {
				t.Errorf("%s /login = %d %q, want %d %q", tt.method, got.status, got.code, tt.want, tt.wantCode)
			}
			if got.header.Get("Set-Cookie") != "" {
				t.Errorf("a refused sign-in set a cookie")
			}
		})
	}
}

func TestLoginRateLimited(t *testing.T) {
	r := newRig(t)
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	wrong := "token=rbt_" + strings.Repeat("A", 42) + "E"
	for i := range 4 {
		if got := r.do(t, "POST", "/login", form, wrong); got.status != 401 {
			t.Fatalf("wrong sign-in %d = %d, want 401", i+1, got.status)
		}
	}
	// Bad bearer tokens count against the same address.
	if got := r.do(t, "GET", "/api/v1/thing", bearer("nope"), ""); got.status != 401 {
		t.Fatalf("bad bearer = %d, want 401", got.status)
	}
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/login", "token=" + r.opTok},
		{"GET", "/api/v1/thing", ""},
	} {
		h := form.Clone()
		h.Set("Authorization", "Bearer "+r.opTok)
		if req.path == "/login" {
			h.Del("Authorization")
		}
		got := r.do(t, req.method, req.path, h, req.body)
		if got.status != 429 || got.code != "rate_limited" || got.header.Get("Retry-After") != "12" {
			t.Errorf("%s %s after 5 failures = %d %q Retry-After %q, want 429 rate_limited 12",
				req.method, req.path, got.status, got.code, got.header.Get("Retry-After"))
		}
	}
	r.clock.advance(12 * time.Second)
	if got := r.do(t, "POST", "/login", form, wrong); got.status != 401 {
		t.Errorf("wrong sign-in with one try earned = %d, want 401", got.status)
	}
	if got := r.do(t, "POST", "/login", form, wrong); got.status != 429 {
		t.Errorf("wrong sign-in with no try left = %d, want 429", got.status)
	}
	r.clock.advance(12 * time.Second)
	r.login(t, r.opTok) // forgets the failures: 5 more in a row are allowed
	for i := range 5 {
		if got := r.do(t, "POST", "/login", form, wrong); got.status != 401 {
			t.Errorf("wrong sign-in %d after a sign-in = %d, want 401", i+1, got.status)
		}
	}
	if got := r.do(t, "POST", "/login", form, wrong); got.status != 429 {
		t.Errorf("wrong sign-in 6 after a sign-in = %d, want 429", got.status)
	}
}

func TestTokenNeverLogged(t *testing.T) {
	r := newRig(t)
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	near := r.opTok[:len(r.opTok)-2] + "AA" // one a user might paste by mistake
	r.login(t, r.opTok)
	r.do(t, "POST", "/login", form, "token="+near)
	r.do(t, "POST", "/login", form, "token=hunter2-not-a-token")
	r.do(t, "GET", "/api/v1/thing", bearer(near), "")
	r.do(t, "GET", "/api/v1/thing", bearer(r.viewTok), "")
	for range 5 {
		r.do(t, "POST", "/login", form, "token="+near) // into the rate limit
	}
	logs := r.logs.String()
	for _, secret := range []string{r.opTok, r.viewTok, near, "hunter2", Hash(r.opTok)[7:]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{
		`level=WARN msg="refused a sign-in" remote=127.0.0.1`,
		`level=WARN msg="refused a bearer token" remote=127.0.0.1`,
		`level=INFO msg="signed in" name=alice role=operator remote=127.0.0.1`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}

func TestWhoOutsideRequire(t *testing.T) {
	r := newRig(t)
	if got := r.g.Who(httptest.NewRequest("GET", "/", nil)); got != "" {
		t.Errorf("Who(request that did not pass Require) = %q, want empty", got)
	}
}

func TestNewGuardNeedsKeyring(t *testing.T) {
	if _, err := NewGuard(Config{}); err == nil {
		t.Errorf("NewGuard(no keyring) = nil error")
	}
}
