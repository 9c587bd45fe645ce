package web

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

// maxQuery bounds the raw query of /ipxe; iPXE's own is under 150 bytes.
const maxQuery = 512

// bootQuery is what the chain script reports about the booting machine.
type bootQuery struct {
	MAC      string // canonical form, always set
	UUID     string // SMBIOS UUID, lower-case 8-4-4-4-12 hex, or ""
	Arch     string // iPXE ${buildarch}: i386, x86_64, arm64 ..., or ""
	Platform string // iPXE ${platform}: pcbios, efi ..., or ""
}

// queryField says how long one parameter may be and checks its value.
type queryField struct {
	max   int
	check func(string) error
}

var queryFields = map[string]queryField{
	"mac":      {17, nil}, // checked by inventory.NormalizeMAC
	"uuid":     {36, checkUUID},
	"arch":     {16, checkWord},
	"platform": {16, checkWord},
}

// parseBootQuery parses the raw query of GET /ipxe. It refuses unknown or
// repeated parameters, overlong values and any byte that is not printable
// ASCII, so that nothing odd reaches a log or the store.
func parseBootQuery(raw string) (bootQuery, error) {
	if len(raw) > maxQuery {
		return bootQuery{}, fmt.Errorf("query is %d bytes, at most %d", len(raw), maxQuery)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return bootQuery{}, fmt.Errorf("parsing query: %w", err)
	}
	got := make(map[string]string, len(vals))
	for key, vs := range vals {
		v, err := queryValue(key, vs)
		if err != nil {
			return bootQuery{}, err
		}
		got[key] = v
	}
	if got["mac"] == "" {
		return bootQuery{}, errors.New("mac: required")
	}
	mac, err := nicMAC(got["mac"])
	if err != nil {
		return bootQuery{}, fmt.Errorf("mac: %w", err)
	}
	return bootQuery{MAC: mac, UUID: strings.ToLower(got["uuid"]),
		Arch: got["arch"], Platform: got["platform"]}, nil
}

// apiQuery parses the query of a GET route of the JSON API that takes
// the parameters named in allowed (none: no query), each at most once. It
// refuses an unknown or repeated parameter by name, first in sorted
// order, so that a typo does not silently widen an answer.
func apiQuery(raw string, allowed ...string) (map[string]string, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing query: %w", err)
	}
	out := make(map[string]string, len(vals))
	for _, key := range slices.Sorted(maps.Keys(vals)) {
		if !slices.Contains(allowed, key) {
			return nil, fmt.Errorf("unknown parameter %+q", truncate(key))
		}
		if n := len(vals[key]); n > 1 {
			return nil, fmt.Errorf("%s: given %d times", key, n)
		}
		out[key] = vals[key][0]
	}
	return out, nil
}

// nicMAC returns raw in canonical form if it can be a network card's
// address; a multicast, broadcast or all-zero MAC never is, and must not
// become a machine in the store.
func nicMAC(raw string) (string, error) {
	mac, err := inventory.NormalizeMAC(raw)
	if err != nil {
		return "", err
	}
	if !inventory.UnicastMAC(mac) {
		return "", fmt.Errorf("%s is a multicast, broadcast or all-zero address, "+
			"not a network card's", mac)
	}
	return mac, nil
}

// queryValue checks the values of one parameter and returns the one value.
func queryValue(key string, vs []string) (string, error) {
	f, ok := queryFields[key]
	if !ok {
		return "", fmt.Errorf("unknown parameter %+q", truncate(key))
	}
	if len(vs) != 1 {
		return "", fmt.Errorf("%s: given %d times", key, len(vs))
	}
	v := vs[0]
	if len(v) > f.max {
		return "", fmt.Errorf("%s: %d bytes, at most %d", key, len(v), f.max)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' {
			return "", fmt.Errorf("%s: byte %#02x at offset %d", key, c, i)
		}
	}
	if f.check == nil || v == "" {
		return v, nil
	}
	if err := f.check(v); err != nil {
		return "", fmt.Errorf("%s: %q: %w", key, v, err)
	}
	return v, nil
}

// checkUUID accepts the 8-4-4-4-12 hex form iPXE formats ${uuid} in.
func checkUUID(s string) error {
	if len(s) != 36 {
		return errors.New("not 8-4-4-4-12 hex digits")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		dash := i == 8 || i == 13 || i == 18 || i == 23
		if dash != (c == '-') || !dash && !isHex(c) {
			return errors.New("not 8-4-4-4-12 hex digits")
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// checkWord accepts lower-case letters, digits and '_', as in iPXE's
// build architecture and platform names.
func checkWord(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return errors.New("not lower-case letters, digits and '_'")
		}
	}
	return nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// detail is the timeline note of a script request.
func (q bootQuery) detail() string {
	return fmt.Sprintf("arch=%s platform=%s", orDash(q.Arch), orDash(q.Platform))
}

// efi reports whether the client runs iPXE on UEFI. Without a platform
// (a hand-made request) the machine's declared architecture decides.
func (q bootQuery) efi(declared inventory.Arch) bool {
	if q.Platform == "" {
		return declared != "" && declared != inventory.ArchBIOS
	}
	return q.Platform == "efi"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// machineRef is what a route's {mac} names.
type machineRef struct {
	// m is the machine named, in the catalog or left out of it; its Name
	// is "" for a MAC nothing declares.
	m inventory.Machine
	// why says why the catalog leaves m out; nil when it does not.
	why error
	// mac is the canonical MAC when {mac} is one, else "".
	mac string
}

// lookup finds what raw names: a machine by name, in the catalog, then
// left out of it; else, when raw is a MAC, that MAC and the machine that
// has it, if any. The error says why raw, which names no machine, is no
// network card's MAC either.
func (s *Server) lookup(raw string) (machineRef, error) {
	cat := s.inv.Catalog()
	if m, ok := cat.Named(raw); ok {
		return machineRef{m: m}, nil
	}
	if lo, ok := cat.LeftOutNamed(raw); ok {
		return machineRef{m: lo.Machine, why: lo.Reason}, nil
	}
	mac, err := nicMAC(raw)
	if err != nil {
		return machineRef{}, err
	}
	ref := machineRef{mac: mac}
	if m, ok := cat.Machine(mac); ok {
		ref.m = m
	} else if lo, ok := cat.LeftOutMachine(mac); ok {
		ref.m, ref.why = lo.Machine, lo.Reason
	}
	return ref, nil
}

// refParam finds what the route's {mac} names, or answers 404 for a
// well-formed name nothing declares and 400 for what is neither a name
// nor a MAC.
func (s *Server) refParam(w http.ResponseWriter, r *http.Request) (machineRef, bool) {
	raw, err := url.PathUnescape(chi.URLParam(r, "mac"))
	if err != nil {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("unescaping the path: %v", err))
		return machineRef{}, false
	}
	ref, err := s.lookup(raw)
	if err != nil {
		code, msg := unknownRef(raw, err)
		writeError(w, r, code, msg)
		return ref, false
	}
	return ref, true
}

// unknownRef says why raw, which names no machine and is no network
// card's MAC (macErr says why), finds nothing: 404 when it can be a
// machine's name, else 400.
func unknownRef(raw string, macErr error) (int, string) {
	if _, err := inventory.NormalizeMAC(raw); err == nil {
		return http.StatusBadRequest, macErr.Error()
	}
	if inventory.CheckName(raw) == nil {
		return http.StatusNotFound, fmt.Sprintf("no machine is called or has the MAC %q", raw)
	}
	return http.StatusBadRequest, fmt.Sprintf("%q is neither a machine's name nor a MAC "+
		"such as 02:00:00:00:00:01", truncate(raw))
}
