package dhcp

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// An offer's timeline event says what the client showed of itself, so that
// an operator can tell a discovered machine apart before declaring it:
//
//	client_arch  the architecture of option 93 (RFC 4578 section 2.1) or
//	             of option 60, by name, or "type-N" for one rackboot does
//	             not boot
//	vendor       option 60, the vendor class (RFC 2132 section 9.13)
//	relay        giaddr, the relay the request came through
//	circuit_id   option 82 sub-option 1 (RFC 3046 section 2.0)
//	remote_id    option 82 sub-option 2
//
// Each is one " key=value" word, present only when the client sent it.
// Values come from the network: they are written as they are only when
// made of printable ASCII other than '"', '\', '=' and space, else in hex
// with a "0x" prefix; either way cut to maxSeenValue bytes. None of these
// options carries a secret.

// maxSeenValue bounds one value of the client details, in bytes of the
// option.
const maxSeenValue = 48

// seen returns r's client details as " key=value" words.
func (r *request) seen() string {
	var b strings.Builder
	if code := r.class.ArchCode; code >= 0 {
		arch := string(archByCode[code])
		if arch == "" {
			arch = "type-" + strconv.Itoa(code)
		}
		b.WriteString(" client_arch=" + arch)
	}
	seenWord(&b, "vendor", r.msg.Options[optVendorClass])
	if r.giaddr.IsValid() {
		b.WriteString(" relay=" + r.giaddr.String())
	}
	if rai := r.msg.RelayAgentInfo(); rai != nil {
		seenWord(&b, "circuit_id", rai.Get(dhcpv4.AgentCircuitIDSubOption))
		seenWord(&b, "remote_id", rai.Get(dhcpv4.AgentRemoteIDSubOption))
	}
	return b.String()
}

// seenWord writes " key=value" for a non-empty v.
func seenWord(b *strings.Builder, key string, v []byte) {
	if len(v) == 0 {
		return
	}
	v = v[:min(len(v), maxSeenValue)]
	b.WriteString(" " + key + "=")
	for _, c := range v {
		if c <= ' ' || c > '~' || c == '"' || c == '\\' || c == '=' {
			b.WriteString("0x" + hex.EncodeToString(v))
			return
		}
	}
	b.Write(v)
}
