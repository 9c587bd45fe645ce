package tftp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// opcode is the type of a TFTP packet (RFC 1350 section 5; OACK is
// RFC 2347).
type opcode uint16

// Opcodes, RFC 1350 section 5 and RFC 2347.
const (
	opRRQ   opcode = 1
	opWRQ   opcode = 2
	opDATA  opcode = 3
	opACK   opcode = 4
	opERROR opcode = 5
	opOACK  opcode = 6
)

// errorCode is the code of an ERROR packet (RFC 1350 appendix; code 8 is
// RFC 2347).
type errorCode uint16

// Error codes, RFC 1350 appendix and RFC 2347.
const (
	errUndefined     errorCode = 0
	errNotFound      errorCode = 1
	errAccess        errorCode = 2
	errIllegalOp     errorCode = 4
	errUnknownTID    errorCode = 5
	errOptionRefused errorCode = 8
)

const (
	// maxRequestLen bounds an RRQ or WRQ: "The maximum size of a request
	// packet is 512 octets" (RFC 2347, Packet Formats).
	maxRequestLen = 512
	// maxOptions bounds the options of one request; 512 bytes could carry
	// over a hundred empty ones.
	maxOptions = 16
)

// Transfer modes, RFC 1350 section 1.
const (
	modeOctet    = "octet"
	modeNetascii = "netascii"
	modeMail     = "mail" // obsolete; recognised only to refuse it
)

// option is one name/value pair of a request or an OACK (RFC 2347).
type option struct {
	name, value string
}

// request is a decoded RRQ or WRQ (RFC 1350 section 5, RFC 2347).
type request struct {
	op       opcode
	filename string
	mode     string // lower case
	options  []option
}

// Errors of parseRequest; all of them mean a malformed request.
var (
	errTooLong    = errors.New("request longer than 512 bytes")
	errNoNUL      = errors.New("request does not end in NUL")
	errNoMode     = errors.New("request has no mode")
	errOddOptions = errors.New("option without a value")
	errEmptyName  = errors.New("empty option name")
	errManyOpts   = errors.New("too many options")
	errBadMode    = errors.New("unknown transfer mode")
)

// opcodeOf returns the opcode of b, or 0 when b is too short to hold one.
func opcodeOf(b []byte) opcode {
	if len(b) < 2 {
		return 0
	}
	return opcode(binary.BigEndian.Uint16(b))
}

// parseRequest decodes an RRQ or WRQ: opcode, then NUL-terminated filename,
// mode and option name/value strings (RFC 1350 section 5, RFC 2347).
func parseRequest(b []byte) (request, error) {
	op := opcodeOf(b)
	switch {
	case op != opRRQ && op != opWRQ:
		return request{}, fmt.Errorf("opcode %d is not a request", op)
	case len(b) > maxRequestLen:
		return request{}, errTooLong
	case b[len(b)-1] != 0:
		return request{}, errNoNUL
	}
	fields := strings.Split(string(b[2:len(b)-1]), "\x00")
	if len(fields) < 2 {
		return request{}, errNoMode
	}
	mode := strings.ToLower(fields[1])
	if mode != modeOctet && mode != modeNetascii && mode != modeMail {
		return request{}, errBadMode
	}
	opts, err := pairOptions(fields[2:])
	if err != nil {
		return request{}, err
	}
	return request{op: op, filename: fields[0], mode: mode, options: opts}, nil
}

// pairOptions turns the strings after the mode into name/value pairs.
func pairOptions(fields []string) ([]option, error) {
	switch {
	case len(fields)%2 != 0:
		return nil, errOddOptions
	case len(fields)/2 > maxOptions:
		return nil, errManyOpts
	}
	var opts []option
	for i := 0; i < len(fields); i += 2 {
		if fields[i] == "" {
			return nil, errEmptyName
		}
		opts = append(opts, option{name: fields[i], value: fields[i+1]})
	}
	return opts, nil
}

// parseAck returns the block number of an ACK (RFC 1350 section 5).
func parseAck(b []byte) (block uint16, ok bool) {
	if len(b) < 4 || opcodeOf(b) != opACK {
		return 0, false
	}
	return binary.BigEndian.Uint16(b[2:]), true
}

// parseError returns the code and message of an ERROR (RFC 1350 section 5).
// A missing terminating NUL is tolerated: the peer is leaving anyway.
func parseError(b []byte) (code errorCode, msg string, ok bool) {
	if len(b) < 4 || opcodeOf(b) != opERROR {
		return 0, "", false
	}
	msg = string(b[4:])
	if i := strings.IndexByte(msg, 0); i >= 0 {
		msg = msg[:i]
	}
	return errorCode(binary.BigEndian.Uint16(b[2:])), msg, true
}

// appendData appends a DATA packet (RFC 1350 section 5).
func appendData(b []byte, block uint16, data []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(opDATA))
	b = binary.BigEndian.AppendUint16(b, block)
	return append(b, data...)
}

// appendError appends an ERROR packet (RFC 1350 section 5).
func appendError(b []byte, code errorCode, msg string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(opERROR))
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	b = append(b, msg...)
	return append(b, 0)
}

// appendOACK appends an OACK carrying opts (RFC 2347, Packet Formats).
func appendOACK(b []byte, opts []option) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(opOACK))
	for _, o := range opts {
		b = append(b, o.name...)
		b = append(b, 0)
		b = append(b, o.value...)
		b = append(b, 0)
	}
	return b
}

// formatOptions renders options for Debug logs, "name=value" each.
func formatOptions(opts []option) []string {
	out := make([]string, 0, len(opts))
	for _, o := range opts {
		out = append(out, o.name+"="+o.value)
	}
	return out
}
