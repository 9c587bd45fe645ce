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
	"sigs.k8s.io/yaml"
)

// Redaction of what the explain and profile routes show: a rendered
// Ignition config and a profile's Butane snippet. Nothing the API answers
// may hold a secret, and rackboot does not know every secret an operator
// writes into a snippet, so the rules are wide and fail safe:
//
//   - in any text, a value whose key names a secret (token, pass,
//     password, secret, private key, client-key-data, API or access key,
//     credential, authorization), as "key: value", "key=value" or a YAML
//     block under the key, the word after "Bearer", a URL's password, a
//     PEM private key, and anything shaped like a Kubernetes bootstrap
//     token or a rackboot API token become "<redacted>". A value ends at
//     white space or at an escape such as \n in a one-line string;
//   - in Ignition, every passwordHash and every HTTP header value; and
//     the contents of inline files (data URLs, gzip-compressed or not),
//     decoded, redacted as text and encoded again without compression.
//     Inline contents that cannot be decoded, or that are not text, are
//     replaced whole;
//   - in a Butane snippet, a file's contents are replaced whole when its
//     path looks sensitive or the text rules find a secret in them, and
//     so are a unit's (see redactButane).

const redacted = "<redacted>"

// maxInline bounds an inline file decompressed for redaction; a larger
// one is replaced whole.
const maxInline = 16 << 20

// A secret value ends at white space, a quote, a separator, or an escape
// that stands for white space (\n, \r, \t, \u...): in a YAML or JSON
// string written on one line, "A_TOKEN=x\nB_PASSWORD: y" holds two. It
// does not start with a brace or bracket, which open a structure, or a
// block scalar's | or >.
const (
	valueStart = `(?:[^\s"',;{}\[|>\\]|\\[^nrtu"'])`
	valueRest  = `(?:[^\s"',;}\\]|\\[^nrtu"'])*`
)

var (
	secretKey = `[A-Za-z0-9_.-]*(?i:token|pass(?:wd|word|phrase)?|secret|private[-_]?key|` +
		`client-key-data|api[-_]?key|access[-_]?key|credential|authorization)[A-Za-z0-9_.-]*`
	secretInline = regexp.MustCompile(`(` + secretKey + `\\?["']?[ \t]*[:=][ \t]*\\?["']?)(` +
		valueStart + valueRest + `)`)
	secretBlock   = regexp.MustCompile(`^([ \t-]*)["']?` + secretKey + `["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*$`)
	bearer        = regexp.MustCompile(`((?i:bearer)[ \t]+)(` + valueStart + valueRest + `)`)
	userinfo      = regexp.MustCompile(`(://)[^/\s:@"'\\]+:[^/\s@"'\\]+@`)
	rackbootToken = regexp.MustCompile(`rbt_[A-Za-z0-9_-]{16,}`)
	bootstrapLike = regexp.MustCompile(`\b[a-z0-9]{6}\.[a-z0-9]{16}\b`)
	privateKeyPEM = regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----`)
)

// redactText returns s with the secrets the rules above find replaced.
func redactText(s string) string {
	s = privateKeyPEM.ReplaceAllString(s, redacted)
	s = redactBlocks(s)
	s = secretInline.ReplaceAllString(s, "${1}"+redacted)
	s = bearer.ReplaceAllString(s, "${1}"+redacted)
	s = userinfo.ReplaceAllString(s, "${1}"+redacted+"@")
	s = rackbootToken.ReplaceAllString(s, redacted)
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
	ig.Butane = redactButane(ig.Butane)
	p.Ignition = &ig
	return p
}

// sensitivePath matches the path of a file whose contents a Butane
// snippet shows as <redacted> whatever they hold: keys, tokens,
// credentials, environment files.
var sensitivePath = regexp.MustCompile(`(?i)token|secret|passw|credential|private|auth|` +
	`kubeconfig|bootstrap|shadow|netrc|id_(?:rsa|dsa|ecdsa|ed25519)|key\.pem$|[/._-](?:env|key)$`)

// redactButane returns a profile's Butane snippet with its secrets
// redacted: redactText's rules, and, replaced whole, every file's contents
// (inline, or a data URL source) when the file's path looks sensitive or
// the rules find a secret in them, and every unit's or drop-in's contents
// in which they find one. A value written on one line can hide a secret
// from line rules; whole values cannot. The snippet keeps its layout
// where those values can be found in it line by line, else it is shown
// as the YAML it parses to; one that does not parse is not shown.
func redactButane(s string) string {
	doc, err := parseYAML(s)
	if err != nil {
		return redacted
	}
	hide := make(map[string]bool)
	collectHidden(doc, "", hide)
	if len(hide) == 0 {
		return redactText(s)
	}
	if out, ok := hideInText(s, hide); ok {
		return redactText(out)
	}
	js, err := json.Marshal(hideInTree(doc, hide))
	if err != nil {
		return redacted
	}
	out, err := yaml.JSONToYAML(js)
	if err != nil {
		return redacted
	}
	return redactText(string(out))
}

// parseYAML decodes a YAML document into maps, lists and scalars.
func parseYAML(s string) (any, error) {
	js, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var doc any
	err = dec.Decode(&doc)
	return doc, err
}

// collectHidden adds to hide the contents values of v, the value of key,
// that redactButane replaces whole.
func collectHidden(v any, key string, hide map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		path, _ := x["path"].(string)
		if c, ok := x["contents"].(map[string]any); ok && sensitivePath.MatchString(path) {
			for _, k := range []string{"inline", "source"} {
				if s, ok := c[k].(string); ok && s != "" {
					hide[s] = true
				}
			}
		}
		for k, e := range x {
			collectHidden(e, k, hide)
		}
	case []any:
		for _, e := range x {
			collectHidden(e, key, hide)
		}
	case string:
		if secretContents(key, x) {
			hide[x] = true
		}
	}
}

// secretContents reports whether s, the value of key, is contents that
// hold a secret the text rules find.
func secretContents(key, s string) bool {
	switch key {
	case "inline", "contents":
		return redactText(s) != s
	case "source":
		if !strings.HasPrefix(s, "data:") {
			return false
		}
		data, err := decodeDataURL(s, "")
		return err != nil || !utf8.Valid(data) || redactText(string(data)) != string(data)
	}
	return false
}

// hideInText replaces, in the snippet's text, every inline, source or
// contents value that hide holds, written on its key's line and the lines
// indented under it. ok is false unless the result parses and holds none
// of them.
func hideInText(s string, hide map[string]bool) (string, bool) {
	lines := strings.Split(s, "\n")
	out := lines[:0:0]
	for i := 0; i < len(lines); i++ {
		m := contentsKey.FindStringSubmatch(lines[i])
		if m == nil {
			out = append(out, lines[i])
			continue
		}
		end := i + 1
		for end < len(lines) && (strings.TrimSpace(lines[end]) == "" || indentOf(lines[end]) > len(m[1])) {
			end++
		}
		v := scalarOf(m[2], m[3], lines[i+1:end])
		if v == "" || !hide[v] {
			out = append(out, lines[i])
			continue
		}
		out = append(out, lines[i][:len(m[1])]+m[2]+": "+hiddenValue(m[2], v))
		i = end - 1
	}
	text := strings.Join(out, "\n")
	doc, err := parseYAML(text)
	return text, err == nil && !holdsAny(doc, hide)
}

// scalarOf returns the string value of key written as rest and the lines
// under it, or "" when it is none.
func scalarOf(key, rest string, under []string) string {
	doc, err := parseYAML(key + ": " + strings.Join(append([]string{rest}, under...), "\n"))
	if err != nil {
		return ""
	}
	m, _ := doc.(map[string]any)
	v, _ := m[key].(string)
	return v
}

// contentsKey matches a line that starts an inline, source or contents
// value: the indentation up to the key (list dashes included), the key,
// and the rest of the line.
var contentsKey = regexp.MustCompile(`^([ \t]*(?:-[ \t]+)*)(inline|source|contents):[ \t]*(.*)$`)

// hiddenValue is what replaces a hidden value of key.
func hiddenValue(key, v string) string {
	if key == "source" && strings.HasPrefix(v, "data:") {
		return "data:," + redacted
	}
	return redacted
}

// hideInTree replaces in v every string value that hide holds.
func hideInTree(v any, hide map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && hide[s] {
				x[k] = hiddenValue(k, s)
				continue
			}
			x[k] = hideInTree(e, hide)
		}
	case []any:
		for i := range x {
			x[i] = hideInTree(x[i], hide)
		}
	}
	return v
}

// holdsAny reports whether v holds a string that hide holds.
func holdsAny(v any, hide map[string]bool) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if holdsAny(e, hide) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holdsAny(e, hide) {
				return true
			}
		}
	case string:
		return hide[x]
	}
	return false
}
