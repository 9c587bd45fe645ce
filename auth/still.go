package auth

import "net/http"

// credential is what Require let a request through with, kept in its
// context so that Still can check it again later.
type credential struct {
	// id is who the request acts as, as Require found it.
	id Identity
	// tokenHash is the hash of the bearer token or of the token the
	// session signed in with.
	tokenHash string
	// sess is the session of a cookie request; nil for a bearer one.
	sess *session
}

// Still reports whether a request Require let through may go on: whether
// the credential it came with (bearer token or session cookie) still
// authenticates, under the tokens in force now, as the same name with
// the same role or a higher one. It is false once the token has been
// removed (SetKeyring), the session has ended (sign-out, expiry, its
// token removed, or pushed out by newer sessions), the token's role has
// been lowered (an operator request, even a GET, once the token is a
// viewer's) or the token renamed, and for a request that did not pass
// Require. A long-lived request, such as an event stream, calls it before
// each write and ends when it turns false.
//
// It counts nothing against the caller's address and logs nothing. It
// costs a map lookup and a constant-time comparison with every token, so
// it is cheap enough to call for every event.
func (g *Guard) Still(r *http.Request) bool {
	c, ok := r.Context().Value(credentialKey).(credential)
	if !ok {
		return false
	}
	if c.sess != nil {
		if _, ok := g.sessions.lookup(c.sess.ID); !ok {
			return false
		}
	}
	id, ok := g.ring.Load().byHash(c.tokenHash)
	return ok && id.Name == c.id.Name && id.Role.covers(c.id.Role) && id.Role.Allows(r.Method)
}
