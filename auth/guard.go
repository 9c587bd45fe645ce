package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/internal/lograte"
)

// CookieName is the session cookie's name.
const CookieName = "rackboot_session"

// CSRFHeader carries a session's CSRF token on cookie requests that
// change state.
const CSRFHeader = "X-CSRF-Token"

// Config configures a Guard.
type Config struct {
	// Keyring holds the accepted tokens; required.
	Keyring *Keyring
	// Log receives failed attempts at Warn (with the remote address,
	// never the token) and sign-ins at Info, at most one a minute per
	// token and the others at Debug; nil logs nothing.
	Log *slog.Logger
	// SessionTTL is how long a session lasts; 0 means SessionTTL.
	SessionTTL time.Duration
	// MaxSessions bounds the sessions held; 0 means MaxSessions.
	MaxSessions int
	// MaxSessionsPerToken bounds the sessions one token holds; 0 means
	// MaxSessionsPerToken.
	MaxSessionsPerToken int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Guard authenticates and authorises requests to the admin listener.
// It is safe for concurrent use.
type Guard struct {
	ring     atomic.Pointer[Keyring]
	sessions *sessionStore
	limiter  *Limiter
	origin   *http.CrossOriginProtection
	log      *slog.Logger
	signIns  *lograte.Limiter // the "signed in" lines, per token name
}

// NewGuard returns a guard over cfg.Keyring with its own sessions and
// limiter.
func NewGuard(cfg Config) (*Guard, error) {
	if cfg.Keyring == nil {
		return nil, errors.New("auth: no keyring")
	}
	g := &Guard{
		sessions: newSessions(cfg.SessionTTL, cfg.MaxSessions, cfg.MaxSessionsPerToken, cfg.Now),
		limiter:  NewLimiter(cfg.Now),
		origin:   http.NewCrossOriginProtection(),
		log:      logger(cfg.Log),
		signIns:  lograte.New(signInLogEvery, cfg.Now),
	}
	g.ring.Store(cfg.Keyring)
	return g, nil
}

// signInLogEvery is how often a token's sign-ins may log at Info.
const signInLogEvery = time.Minute

// SetKeyring replaces the accepted tokens, for a reload. Sessions signed
// in with a token k no longer holds end, for good: putting the token back
// does not revive them. The other sessions take k's role. An empty k
// refuses every request.
func (g *Guard) SetKeyring(k *Keyring) {
	g.ring.Store(k)
	held := k.hashes()
	g.sessions.retain(func(h string) bool { return held[h] })
}

type ctxKey int

const (
	identityKey ctxKey = iota
	credentialKey
)

// NewContext returns ctx carrying id, as Require passes it on.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// FromContext returns the identity Require authenticated.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey).(Identity)
	return id, ok
}

// Who returns the name of the caller Require let through, for the
// timeline's "by <name>"; "" when r did not pass Require.
func (g *Guard) Who(r *http.Request) string {
	id, _ := FromContext(r.Context())
	return id.Name
}

// Require passes on only requests that authenticate (a bearer token or
// the session cookie), whose role allows their method, and, for cookie
// requests that change state, that carry the session's CSRF token and
// come from the same origin. The handler finds the caller with
// FromContext.
func (g *Guard) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := g.authenticate(w, r)
		if !ok {
			return
		}
		if !c.id.Role.Allows(r.Method) {
			writeError(w, http.StatusForbidden, codeForbidden,
				"the "+string(c.id.Role)+" role may only read")
			return
		}
		if c.sess != nil && !g.csrfOK(w, r, *c.sess) {
			return
		}
		ctx := context.WithValue(NewContext(r.Context(), c.id), credentialKey, c)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authenticate finds the caller from the Authorization header or the
// session cookie; when it cannot, it has answered the request.
func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request) (credential, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		return g.bearer(w, r, h)
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rackboot"`)
		writeError(w, http.StatusUnauthorized, codeUnauthorized,
			"sign in, or send Authorization: Bearer <token>")
		return credential{}, false
	}
	sess, id, ok := g.session(c.Value)
	if !ok {
		http.SetCookie(w, clearCookie())
		writeError(w, http.StatusUnauthorized, codeUnauthorized, "session ended; sign in again")
		return credential{}, false
	}
	return credential{id: id, tokenHash: sess.tokenHash, sess: &sess}, true
}

// bearer authenticates "Bearer <token>" (RFC 6750 section 2.1), counting
// failures against the remote address.
func (g *Guard) bearer(w http.ResponseWriter, r *http.Request, h string) (credential, bool) {
	if !g.allow(w, r) {
		return credential{}, false
	}
	tok := bearerToken(h)
	id, ok := g.ring.Load().Authenticate(tok)
	if !ok {
		g.limiter.Fail(r.RemoteAddr)
		g.log.Warn("refused a bearer token", "remote", remoteHost(r), "path", r.URL.Path)
		// RFC 6750 section 3.
		w.Header().Set("WWW-Authenticate", `Bearer realm="rackboot", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, codeUnauthorized, "unknown or malformed token")
		return credential{}, false
	}
	g.limiter.Succeed(r.RemoteAddr)
	return credential{id: id, tokenHash: Hash(tok)}, true
}

// bearerToken returns the token of an Authorization header's "Bearer"
// scheme (RFC 6750 section 2.1, the scheme's case ignored), or "".
func bearerToken(h string) string {
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// allow answers 429 when the remote address has failed too often.
func (g *Guard) allow(w http.ResponseWriter, r *http.Request) bool {
	wait, ok := g.limiter.Allow(r.RemoteAddr)
	if ok {
		return true
	}
	secs := int((wait + time.Second - 1) / time.Second)
	g.log.Debug("refused an attempt: too many failures", "remote", remoteHost(r))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1))) // RFC 9110 section 10.2.3
	writeError(w, http.StatusTooManyRequests, codeRateLimited,
		"too many failed attempts; retry after "+strconv.Itoa(max(secs, 1))+"s")
	return false
}

// session returns the live session with the cookie value v and its
// token's identity now.
func (g *Guard) session(v string) (session, Identity, bool) {
	sess, ok := g.sessions.lookup(v)
	if !ok {
		return session{}, Identity{}, false
	}
	id, ok := g.ring.Load().byHash(sess.tokenHash)
	return sess, id, ok
}

// csrfOK checks a cookie request that changes state: it must come from
// the same origin and repeat the session's CSRF token. It answers 403
// when not.
func (g *Guard) csrfOK(w http.ResponseWriter, r *http.Request, sess session) bool {
	if safeMethod(r.Method) {
		return true
	}
	if err := g.origin.Check(r); err != nil {
		writeError(w, http.StatusForbidden, codeForbidden, "cross-origin request refused")
		return false
	}
	if !sameHash(r.Header.Get(CSRFHeader), sess.CSRF) {
		writeError(w, http.StatusForbidden, codeForbidden, "missing or wrong "+CSRFHeader+" header")
		return false
	}
	return true
}

// remoteHost is the remote address without its port, for logs.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
