package bmc

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stmcginnis/gofish/common"
)

// Errors callers branch on. Every error an operation returns wraps one of
// them or none (a BMC failure of another kind); test with errors.Is.
var (
	// ErrNoBMC: the machine's inventory entry has no bmc.
	ErrNoBMC = errors.New("machine has no bmc in the inventory")
	// ErrCredentials: the credentials file, variable or Secret is
	// missing or malformed, or no Secret reader is configured.
	ErrCredentials = errors.New("bmc credentials unavailable")
	// ErrTimeout: the BMC did not answer within the operation's timeout.
	ErrTimeout = errors.New("bmc did not answer in time")
	// ErrUnauthorized: the BMC rejected the credentials (401, 403, or an
	// IPMI RAKP failure).
	ErrUnauthorized = errors.New("bmc rejected the credentials")
	// ErrSessionLimit: the BMC answered 503 Service Unavailable, which
	// BMCs send when their session table is full.
	ErrSessionLimit = errors.New("bmc is unavailable or out of sessions (503)")
	// ErrTLS: the BMC's Redfish certificate is not trusted; give the
	// machine a ca_file (or, knowingly, insecure_skip_verify).
	ErrTLS = errors.New("bmc certificate not trusted")
	// ErrNotKept: the BMC accepted a boot override but reading it back
	// shows something else.
	ErrNotKept = errors.New("bmc did not keep the boot override")
)

// multiErrorFrame is the heading go-multierror, under bmclib, puts
// before its list.
var multiErrorFrame = regexp.MustCompile(`\d+ errors? occurred:\n\t\* `)

// maxErrorText bounds the BMC's own words kept in an error.
const maxErrorText = 300

// opError is an error leaving the package. Its text is cleaned of the
// credentials and it unwraps to a sentinel only, never to the client's
// error (whose text may hold what the BMC echoed).
type opError struct {
	kind error
	msg  string
}

func (e *opError) Error() string { return e.msg }
func (e *opError) Unwrap() error { return e.kind }

// classify names the kind of err, or nil. ctx is the operation's: once
// its deadline passed, whatever the client saw is a timeout.
func classify(ctx context.Context, err error) error {
	for _, kind := range []error{ErrNoBMC, ErrCredentials, ErrNotKept, ErrTimeout} {
		if errors.Is(err, kind) {
			return kind
		}
	}
	var rf *common.Error
	var netErr net.Error
	var tlsErr *tls.CertificateVerificationError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return ErrTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return ErrTimeout
	case errors.As(err, &tlsErr):
		return ErrTLS
	case errors.As(err, &rf) && (rf.HTTPReturnedStatusCode == 401 ||
		rf.HTTPReturnedStatusCode == 403):
		return ErrUnauthorized
	case errors.As(err, &rf) && rf.HTTPReturnedStatusCode == 503:
		return ErrSessionLimit
	case ipmiAuthFailure(err.Error()):
		return ErrUnauthorized
	}
	return nil
}

// ipmiAuthFailure reports whether ipmitool's output says the RMCP+ login
// (RAKP, IPMI v2.0 section 13.31) failed on the user or the password.
// ipmitool reports it only as text.
func ipmiAuthFailure(out string) bool {
	out = strings.ToLower(out)
	for _, s := range []string{"rakp 2 hmac is invalid", "unauthorized name",
		"invalid user name", "rakp 2 message indicates an error"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// ipmiNoSession is all ipmitool says when the RMCP+ login fails without
// a RAKP status, whether the password was wrong (ipmi_sim) or no BMC
// answered: only the text is there to go by.
const ipmiNoSession = "Unable to establish IPMI v2 / RMCP+ session"

// cleanText makes a client's error text fit for an error, an event or a
// log line: every form of the password removed, whitespace collapsed,
// length bounded.
func cleanText(s string, c credentials) string {
	for _, secret := range c.forms() {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	s = multiErrorFrame.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\n\t* ", "; ")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// forms lists the ways the password may show in a client's or a BMC's
// words: as is, URL-escaped, inside HTTP Basic credentials, escaped in a
// JSON string (a BMC echoing a login body), and quoted by Go's %q, on its
// own or around one of those. Longer forms come first, so that none is
// left half replaced.
func (c credentials) forms() []string {
	if c.pass == "" {
		return nil
	}
	basic := base64.StdEncoding.EncodeToString([]byte(c.user + ":" + c.pass))
	base := []string{c.pass, basic, url.QueryEscape(c.pass), url.PathEscape(c.pass),
		jsonString(c.pass, true), jsonString(c.pass, false)}
	seen := map[string]bool{}
	var forms []string
	for _, f := range base {
		for _, v := range []string{f, quoted(f)} {
			if v != "" && !seen[v] {
				seen[v] = true
				forms = append(forms, v)
			}
		}
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

// jsonString is s as it stands inside a JSON string, without the quotes,
// with or without HTML escaping (\u003c for <), as encoders differ.
func jsonString(s string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		return ""
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// quoted is s as it stands inside a Go %q string, without the quotes.
func quoted(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
