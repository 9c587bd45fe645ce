package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
)

// Error codes of the JSON error answers.
const (
	codeBadRequest       = "bad_request"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeRateLimited      = "rate_limited"
	codeMethodNotAllowed = "method_not_allowed"
	codeInternal         = "internal"
)

// maxLoginBody bounds a sign-in request's body.
const maxLoginBody = 4 << 10

// SessionInfo is what Login and Session answer.
type SessionInfo struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// CSRF is the session's CSRF token; empty for a bearer request.
	CSRF string `json:"csrf"`
}

// Login handles POST /login: the token comes as the form field "token"
// or as JSON {"token": "..."}. It starts a session, sets its cookie and
// answers SessionInfo. Failures count against the remote address.
func (g *Guard) Login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "sign in with POST")
		return
	}
	if err := g.origin.Check(r); err != nil {
		writeError(w, http.StatusForbidden, codeForbidden, "cross-origin request refused")
		return
	}
	if !g.allow(w, r) {
		return
	}
	tok, err := readToken(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	id, ok := g.ring.Load().Authenticate(tok)
	if !ok {
		g.limiter.Fail(r.RemoteAddr)
		g.log.Warn("refused a sign-in", "remote", remoteHost(r))
		writeError(w, http.StatusUnauthorized, codeUnauthorized, "unknown or malformed token")
		return
	}
	g.limiter.Succeed(r.RemoteAddr)
	g.startSession(w, r, id, Hash(tok))
}

// startSession ends the caller's old session, if any, and starts one.
func (g *Guard) startSession(w http.ResponseWriter, r *http.Request, id Identity,
	tokenHash string) {
	if c, err := r.Cookie(CookieName); err == nil {
		g.sessions.remove(c.Value)
	}
	sess, err := g.sessions.create(tokenHash)
	if err != nil {
		g.log.Error("starting a session", "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "starting a session failed")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: sess.ID, Path: "/",
		Expires: sess.Expires, MaxAge: int(g.sessions.ttl.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	g.signIns.Log(r.Context(), g.log, slog.LevelInfo, id.Name,
		"signed in", "name", id.Name, "role", id.Role, "remote", remoteHost(r))
	writeJSON(w, http.StatusOK, SessionInfo{Name: id.Name, Role: id.Role, CSRF: sess.CSRF})
}

// readToken reads the token from a form or a JSON body.
func readToken(w http.ResponseWriter, r *http.Request) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var tok string
	if ct == "application/json" {
		var body struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return "", errors.New(`want JSON {"token": "..."}`)
		}
		tok = body.Token
	} else {
		if err := r.ParseForm(); err != nil {
			return "", errors.New("want the form field token")
		}
		tok = r.PostForm.Get("token")
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", errors.New("no token given")
	}
	return tok, nil
}

// Logout handles POST /logout: it ends the cookie's session, if any, and
// clears the cookie. Like every cookie request that changes state, it
// needs the session's CSRF token.
func (g *Guard) Logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "sign out with POST")
		return
	}
	if c, err := r.Cookie(CookieName); err == nil {
		if sess, _, ok := g.session(c.Value); ok {
			if !g.csrfOK(w, r, sess) {
				return
			}
			g.sessions.remove(c.Value)
		}
	}
	http.SetCookie(w, clearCookie())
	w.WriteHeader(http.StatusNoContent)
}

// Session handles GET /api/v1/session behind Require: who the caller is
// and, for a cookie request, the session's CSRF token.
func (g *Guard) Session(w http.ResponseWriter, r *http.Request) {
	id, ok := FromContext(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, codeUnauthorized, "sign in first")
		return
	}
	if r.URL.RawQuery != "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "this route takes no query parameters")
		return
	}
	info := SessionInfo{Name: id.Name, Role: id.Role}
	if c, ok := r.Context().Value(credentialKey).(credential); ok && c.sess != nil {
		info.CSRF = c.sess.CSRF
	}
	writeJSON(w, http.StatusOK, info)
}

// clearCookie tells the browser to forget the session cookie.
func clearCookie() *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
}

// writeError answers {"error": msg, "code": code}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

// writeJSON answers v as JSON. Answers carry identities and CSRF tokens,
// so no cache keeps them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(v) // v is always a small plain struct or map
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
