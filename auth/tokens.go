package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Entry is one token as the tokens file stores it: its hash, never the
// token itself.
type Entry struct {
	// Name names the token's holder: the actor recorded in timelines.
	Name string `json:"name"`
	// Role is what the token may do.
	Role Role `json:"role"`
	// Hash is Hash of the token.
	Hash string `json:"hash"`
	// Created is when the token was made; zero when unknown.
	Created time.Time `json:"created,omitzero"`
}

// maxNameLen bounds a token name.
const maxNameLen = 64

// checkName accepts names of letters, digits and . _ - @, which need no
// quoting anywhere they are shown (logs, timelines, RACKBOOT_TOKENS).
func checkName(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("name %q is longer than %d characters", name, maxNameLen)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.ContainsRune("._-@", c)
		if !ok {
			return fmt.Errorf("name %q: only letters, digits and . _ - @ may appear", name)
		}
	}
	return nil
}

// normalize checks e and returns it with its hash in lower case.
func (e Entry) normalize() (Entry, error) {
	if err := checkName(e.Name); err != nil {
		return e, err
	}
	if _, err := ParseRole(string(e.Role)); err != nil {
		return e, err
	}
	h, err := normalHash(e.Hash)
	if err != nil {
		return e, err
	}
	e.Hash = h
	return e, nil
}

// label names an entry in errors: its position and, when it has one,
// its name.
func label(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("entry %d", i+1)
	}
	return fmt.Sprintf("entry %d (%q)", i+1, name)
}

// ParseTokens parses a tokens file: a YAML list of entries with the keys
// name, role, hash and created (RFC 3339, optional). Unknown keys, bad
// names, unknown roles, bad hashes and a name or hash used twice are
// errors naming the entry. An empty file holds no entries.
func ParseTokens(data []byte) ([]Entry, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("parsing yaml: %w", err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(js, &raws); err != nil {
		return nil, errors.New("want a list of entries with name, role and hash")
	}
	entries := make([]Entry, 0, len(raws))
	for i, raw := range raws {
		e, err := decodeEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label(i, e.Name), err)
		}
		entries = append(entries, e)
	}
	return entries, checkUnique(entries)
}

// decodeEntry decodes one entry strictly; on error the entry returned
// still carries the name when one was read, for the message.
func decodeEntry(raw json.RawMessage) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		var name struct{ Name any }
		json.Unmarshal(raw, &name)
		s, _ := name.Name.(string)
		return Entry{Name: s}, err
	}
	return e.normalize()
}

// checkUnique refuses two entries with one name or one hash: a name is
// an actor, and a token must mean one actor.
func checkUnique(entries []Entry) error {
	names := map[string]bool{}
	hashes := map[string]string{}
	for i, e := range entries {
		if names[e.Name] {
			return fmt.Errorf("%s: name used by an earlier entry", label(i, e.Name))
		}
		if other, ok := hashes[e.Hash]; ok {
			return fmt.Errorf("%s: same hash as %q", label(i, e.Name), other)
		}
		names[e.Name], hashes[e.Hash] = true, e.Name
	}
	return nil
}

// ReadTokensFile reads and parses the tokens file at path. A missing file
// holds no entries.
func ReadTokensFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading tokens file: %w", err)
	}
	entries, err := ParseTokens(data)
	if err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return entries, nil
}

// ParseEnvTokens parses the inline form of RACKBOOT_TOKENS:
// "name:role:sha256:<hex>" entries separated by commas. Blank entries
// are skipped; errors name the entry.
func ParseEnvTokens(s string) ([]Entry, error) {
	var entries []Entry
	for i, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		f := strings.SplitN(part, ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s: want name:role:sha256:<hex>", label(i, ""))
		}
		e, err := Entry{Name: f[0], Role: Role(f[1]), Hash: f[2]}.normalize()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label(i, f[0]), err)
		}
		entries = append(entries, e)
	}
	return entries, checkUnique(entries)
}

// AppendToken adds e to the tokens file at path, creating it when
// missing. The file is replaced atomically (a temporary file renamed over
// it) with mode 0600, and keeps what was in it, comments included. A
// name or hash the file already has is an error. Appends to one file
// take turns (a lock file beside it), so none is lost.
func AppendToken(path string, e Entry) error {
	e, err := e.normalize()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	unlock, err := lockFile(path)
	if err != nil {
		return err
	}
	defer unlock()
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading tokens file: %w", err)
	}
	entries, err := ParseTokens(old)
	if err != nil {
		return fmt.Errorf("tokens file %s: %w", path, err)
	}
	if err := checkUnique(append(entries, e)); err != nil {
		return fmt.Errorf("adding to %s: %w", path, err)
	}
	return writeFileAtomic(path, appendEntry(old, entries, e), 0o600)
}

// appendEntry returns the file old, which holds entries, with e added as
// text at its end; when that text would not parse back (a flow-style
// list, say), the whole list is written anew.
func appendEntry(old []byte, entries []Entry, e Entry) []byte {
	out := bytes.Clone(old)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, renderEntry(e)...)
	if got, err := ParseTokens(out); err == nil && len(got) == len(entries)+1 {
		return out
	}
	var b bytes.Buffer
	for _, o := range append(entries, e) {
		b.WriteString(renderEntry(o))
	}
	return b.Bytes()
}

// renderEntry writes e as one YAML list item in the file's usual order.
func renderEntry(e Entry) string {
	s := fmt.Sprintf("- name: %q\n  role: %s\n  hash: %s\n", e.Name, e.Role, e.Hash)
	if !e.Created.IsZero() {
		s += "  created: " + e.Created.UTC().Format(time.RFC3339) + "\n"
	}
	return s
}
