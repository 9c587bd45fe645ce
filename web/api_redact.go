package web

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/rackboot/rackboot/inventory"
)

// Redaction of what the explain and profile routes show: a rendered
// Ignition config and a profile's Butane snippet. Nothing the API answers
// may hold a secret, and rackboot does not know every secret an operator
// writes into a snippet, so the rules are wide and fail safe:
//
//   - a value whose key names a secret (token, password, secret, private
//     key, client-key-data), as "key: value", "key=value" or a YAML block
//     under the key, and a PEM private key anywhere, become "<redacted>";
//     so does anything shaped like a Kubernetes bootstrap token;
//   - in Ignition, every passwordHash and every HTTP header value; the
//     password of a URL; and the contents of inline files (data URLs,
//     gzip-compressed or not), decoded, redacted as text and encoded
//     again without compression. Inline contents that cannot be decoded,
//     or that are not text, are replaced whole.

const redacted = "<redacted>"

// maxInline bounds an inline file decompressed for redaction; a larger
// one is replaced whole.
const maxInline = 16 << 20

var (
	secretKey     = `[A-Za-z0-9_.-]*(?i:token|passw(?:or)?d|secret|private[-_]?key|client-key-data)[A-Za-z0-9_.-]*`
	secretInline  = regexp.MustCompile(`(` + secretKey + `["']?[ \t]*[:=][ \t]*["']?)([^\s"',;}|>][^\s"',;}]*)`)
	secretBlock   = regexp.MustCompile(`^([ \t-]*)["']?` + secretKey + `["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*$`)
	bootstrapLike = regexp.MustCompile(`\b[a-z0-9]{6}\.[a-z0-9]{16}\b`)
	privateKeyPEM = regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----`)
)

// redactText returns s with the secrets the rules above find replaced.
func redactText(s string) string {
	s = privateKeyPEM.ReplaceAllString(s, redacted)
	s = redactBlocks(s)
	s = secretInline.ReplaceAllString(s, "${1}"+redacted)
	return bootstrapLike.ReplaceAllString(s, redacted)
}

// redactBlocks replaces the YAML block scalars ("key: |" and the lines
// indented under it) whose key names a secret.
func redactBlocks(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0:0]
	for i := 0; i < len(lines); i++ {
		out = append(out, lines[i])
		m := secretBlock.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent := len(m[1])
		j := i + 1
		for j < len(lines) && (strings.TrimSpace(lines[j]) == "" || indentOf(lines[j]) > indent) {
			j++
		}
		if j > i+1 {
			out = append(out, strings.Repeat(" ", indent+2)+redacted)
		}
		i = j - 1
	}
	return strings.Join(out, "\n")
}

func indentOf(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}

// redactIgnition returns the Ignition config raw with its secrets
// redacted.
func redactIgnition(raw []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decoding the rendered config: %w", err)
	}
	out, err := json.Marshal(redactJSON(doc, ""))
	if err != nil {
		return nil, fmt.Errorf("encoding the redacted config: %w", err)
	}
	return out, nil
}

// redactJSON redacts v, the value of key in its parent object.
func redactJSON(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "httpHeaders" {
				x[k] = redactHeaders(e)
				continue
			}
			x[k] = redactJSON(e, k)
		}
		if src, ok := x["source"].(string); ok {
			redactResource(x, src)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactJSON(x[i], key)
		}
		return x
	case string:
		switch {
		case key == "source":
			return x // redactResource sees it with its compression
		case key == "passwordHash" && x != "":
			return redacted
		}
		return redactText(x)
	}
	return v
}

// redactHeaders hides the value of every HTTP header of a resource
// (httpHeaders: [{"name", "value"}]): Authorization and the like.
func redactHeaders(v any) any {
	list, _ := v.([]any)
	for _, h := range list {
		if m, ok := h.(map[string]any); ok && m["value"] != nil {
			m["value"] = redacted
		}
	}
	return v
}

// redactResource redacts the source of an Ignition resource object m
// (file contents, appended data, merged configs, CAs).
func redactResource(m map[string]any, src string) {
	if !strings.HasPrefix(src, "data:") {
		m["source"] = redactURL(src)
		return
	}
	comp, _ := m["compression"].(string)
	data, err := decodeDataURL(src, comp)
	if err != nil || !utf8.Valid(data) {
		m["source"] = "data:," + redacted
		delete(m, "compression")
		return
	}
	text := string(data)
	red := redactText(text)
	if red == text && comp == "" {
		return
	}
	m["source"] = encodeDataURL(red)
	delete(m, "compression")
}

// redactURL hides the userinfo of a remote URL and secrets in its query.
func redactURL(src string) string {
	u, err := url.Parse(src)
	if err != nil {
		return redacted
	}
	if u.User != nil {
		u.User = nil
		src = strings.Replace(u.String(), "://", "://"+redacted+"@", 1)
	}
	return redactText(src)
}

// decodeDataURL returns the bytes of an RFC 2397 data URL, decompressed
// per Ignition's compression field ("" or "gzip").
func decodeDataURL(src, compression string) ([]byte, error) {
	head, body, ok := strings.Cut(strings.TrimPrefix(src, "data:"), ",")
	if !ok {
		return nil, fmt.Errorf("data url without a comma")
	}
	text, err := url.PathUnescape(body)
	if err != nil {
		return nil, err
	}
	data := []byte(text)
	if strings.HasSuffix(head, ";base64") {
		if data, err = base64.StdEncoding.DecodeString(text); err != nil {
			if data, err = base64.RawStdEncoding.DecodeString(text); err != nil {
				return nil, err
			}
		}
	}
	switch compression {
	case "":
		return data, nil
	case "gzip":
		return gunzip(data)
	}
	return nil, fmt.Errorf("compression %q", compression)
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxInline+1))
	if err == nil && len(out) > maxInline {
		err = fmt.Errorf("over %d bytes", maxInline)
	}
	return out, err
}

// encodeDataURL encodes text as a data URL the way Ignition configs write
// them, leaving the "<redacted>" marks readable.
func encodeDataURL(text string) string {
	parts := strings.Split(text, redacted)
	for i, p := range parts {
		parts[i] = escapeData(p)
	}
	return "data:," + strings.Join(parts, redacted)
}

func escapeData(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || strings.IndexByte("/:=", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// redactProfile returns p with its Butane snippet redacted.
func redactProfile(p inventory.Profile) inventory.Profile {
	if p.Ignition == nil || p.Ignition.Butane == "" {
		return p
	}
	ig := *p.Ignition
	ig.Butane = redactText(ig.Butane)
	p.Ignition = &ig
	return p
}
