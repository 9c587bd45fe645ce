package auth

import (
	"fmt"
	"net/http"
)

// Role is what a token may do.
type Role string

// The roles. A viewer reads; an operator also powers, reprovisions,
// accepts and edits machines.
const (
	Viewer   Role = "viewer"
	Operator Role = "operator"
)

// ParseRole returns the role called s.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Viewer, Operator:
		return r, nil
	}
	return "", fmt.Errorf("role %q: not viewer or operator", s)
}

// Allows reports whether the role may send a request with method: a
// viewer only GET and HEAD, an operator every method.
func (r Role) Allows(method string) bool {
	switch r {
	case Operator:
		return true
	case Viewer:
		return safeMethod(method)
	}
	return false
}

// rank orders the roles by what they may do; 0 for an unknown role.
func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Operator:
		return 2
	}
	return 0
}

// covers reports whether r may do everything o may.
func (r Role) covers(o Role) bool { return o.rank() > 0 && r.rank() >= o.rank() }

// safeMethod reports whether method only reads (RFC 9110 section 9.2.1).
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}
