package tftp

import (
	"strconv"
	"strings"
	"time"
)

// Limits of the negotiated options.
const (
	defaultBlockSize = 512   // RFC 1350 section 2, when blksize is not agreed
	minBlockSize     = 8     // RFC 2348: valid values range 8..65464
	maxBlockSize     = 65464 // RFC 2348
	maxTimeoutSecs   = 255   // RFC 2349 section 3: 1..255 seconds
	maxWindowSize    = 65535 // RFC 7440 section 3: 1..65535
)

// limits are the server's caps on what a client may negotiate.
type limits struct {
	blksize int           // largest blksize granted
	window  int           // largest windowsize granted
	timeout time.Duration // retransmission timeout unless the client sets one
}

// params are the settings of one transfer after negotiation.
type params struct {
	blksize int
	window  int
	timeout time.Duration
	tsize   bool     // the client asked for the transfer size
	oack    []option // accepted options in request order; none: no OACK
}

// negotiate picks the transfer settings from the client's options
// (RFC 2347). The OACK carries only options the client sent and the server
// accepts, under the client's spelling of the name; unknown, repeated or
// invalid options are ignored. size is the transfer size in bytes, or -1
// when it is unknown and tsize cannot be answered.
func negotiate(opts []option, size int64, lim limits) params {
	p := params{blksize: defaultBlockSize, window: 1, timeout: lim.timeout}
	seen := make(map[string]bool, len(opts))
	for _, o := range opts {
		name := strings.ToLower(o.name)
		if seen[name] {
			continue
		}
		seen[name] = true
		if v, ok := p.accept(name, o.value, size, lim); ok {
			p.oack = append(p.oack, option{name: o.name, value: v})
		}
	}
	return p
}

// accept applies one option and returns the value to put in the OACK, or
// false when the option is not granted.
func (p *params) accept(name, value string, size int64, lim limits) (string, bool) {
	n, ok := parseCount(value)
	if !ok {
		return "", false
	}
	switch name {
	case "blksize": // RFC 2348: the server may answer a smaller size
		if n < minBlockSize {
			return "", false
		}
		p.blksize = min(n, lim.blksize)
		return strconv.Itoa(p.blksize), true
	case "tsize": // RFC 2349 section 4: the RRQ carries 0, the OACK the size
		if size < 0 {
			return "", false
		}
		p.tsize = true
		return strconv.FormatInt(size, 10), true
	case "timeout": // RFC 2349 section 3: accepted as sent or not at all
		if n < 1 || n > maxTimeoutSecs {
			return "", false
		}
		p.timeout = time.Duration(n) * time.Second
		return strconv.Itoa(n), true
	case "windowsize": // RFC 7440 section 3: the server may answer less
		if n < 1 || n > maxWindowSize {
			return "", false
		}
		p.window = min(n, lim.window)
		return strconv.Itoa(p.window), true
	}
	return "", false
}

// parseCount parses a non-negative decimal option value of at most nine
// digits; signs, spaces and longer numbers are refused.
func parseCount(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
