package auth

import (
	"fmt"
	"log/slog"
	"time"
)

// Identity is who a request acts as: a token's name and role.
type Identity struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Keyring holds the hashes of the tokens rackboot accepts. It never
// changes after NewKeyring, so it is safe for concurrent use.
type Keyring struct {
	entries []Entry
}

// NewKeyring returns a keyring of entries, which it checks as
// ParseTokens does: names, roles, hashes, no name or hash twice.
func NewKeyring(entries []Entry) (*Keyring, error) {
	k := &Keyring{entries: make([]Entry, 0, len(entries))}
	for i, e := range entries {
		n, err := e.normalize()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label(i, e.Name), err)
		}
		k.entries = append(k.entries, n)
	}
	if err := checkUnique(k.entries); err != nil {
		return nil, err
	}
	return k, nil
}

// Len returns how many tokens k accepts.
func (k *Keyring) Len() int { return len(k.entries) }

// Authenticate returns the identity of the token tok, or false when k does
// not hold it. It compares tok's hash with every entry in constant time.
func (k *Keyring) Authenticate(tok string) (Identity, bool) {
	if !WellFormed(tok) {
		return Identity{}, false
	}
	return k.byHash(Hash(tok))
}

// byHash returns the identity of the entry with hash h, comparing with
// every entry so the time taken does not tell which one matched.
func (k *Keyring) byHash(h string) (Identity, bool) {
	found := -1
	for i, e := range k.entries {
		if sameHash(e.Hash, h) {
			found = i
		}
	}
	if found < 0 {
		return Identity{}, false
	}
	e := k.entries[found]
	return Identity{Name: e.Name, Role: e.Role}, true
}

// hashes returns the set of k's token hashes.
func (k *Keyring) hashes() map[string]bool {
	m := make(map[string]bool, len(k.entries))
	for _, e := range k.entries {
		m[e.Hash] = true
	}
	return m
}

// Files says where Load finds tokens.
type Files struct {
	// Tokens is the tokens file (--tokens-file); a missing file holds
	// no tokens.
	Tokens string
	// Env is the value of RACKBOOT_TOKENS, inline entries added to the
	// file's; "" adds none.
	Env string
	// Bootstrap is where the first operator token's text is written
	// when there is no token at all; "" never makes one, and then no
	// token at all is an error.
	Bootstrap string
}

// Load builds the keyring of the tokens file and the environment, for
// start-up. With no token at all it makes the operator token "admin" (see
// Bootstrap) and logs where its text went, never the text.
func Load(f Files, log *slog.Logger) (*Keyring, error) {
	entries, err := readEntries(f)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		e, err := bootstrapOrFail(f)
		if err != nil {
			return nil, err
		}
		logger(log).Info("created the first operator token; its text is in the file",
			"name", e.Name, "path", f.Bootstrap, "file", f.Tokens)
		entries = append(entries, e)
	}
	return newKeyringOf(f, entries)
}

// Reload builds the keyring of the tokens file and the environment again,
// for SIGHUP. Unlike Load it never makes a token (f.Bootstrap is ignored):
// with none left, a missing or empty file and no RACKBOOT_TOKENS, it
// returns an empty keyring, which refuses every request, and logs so at
// Warn. A file or variable that fails to read or parse is an error, and
// the caller keeps the tokens in force.
func Reload(f Files, log *slog.Logger) (*Keyring, error) {
	entries, err := readEntries(f)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		logger(log).Warn("no API token left: the admin listener refuses every request "+
			"until one is added", "path", f.Tokens)
	}
	return newKeyringOf(f, entries)
}

// readEntries reads the entries of the tokens file and of the environment.
func readEntries(f Files) ([]Entry, error) {
	entries, err := ReadTokensFile(f.Tokens)
	if err != nil {
		return nil, err
	}
	env, err := ParseEnvTokens(f.Env)
	if err != nil {
		return nil, fmt.Errorf("RACKBOOT_TOKENS: %w", err)
	}
	return append(entries, env...), nil
}

// newKeyringOf returns the keyring of entries, read from f.
func newKeyringOf(f Files, entries []Entry) (*Keyring, error) {
	ring, err := NewKeyring(entries)
	if err != nil {
		return nil, fmt.Errorf("tokens file %s and RACKBOOT_TOKENS: %w", f.Tokens, err)
	}
	return ring, nil
}

func bootstrapOrFail(f Files) (Entry, error) {
	if f.Bootstrap == "" {
		return Entry{}, fmt.Errorf("no token in %s or RACKBOOT_TOKENS: "+
			"make one with rackboot token create", f.Tokens)
	}
	return Bootstrap(f.Tokens, f.Bootstrap, time.Now())
}

// BootstrapName is the name of the token Bootstrap makes.
const BootstrapName = "admin"

// Bootstrap makes a new operator token called "admin": it writes the
// token's text to plainFile (mode 0600, replacing it) and then appends
// its hash to tokensFile, created at now. It returns the new entry.
func Bootstrap(tokensFile, plainFile string, now time.Time) (Entry, error) {
	tok, err := NewToken()
	if err != nil {
		return Entry{}, err
	}
	if err := writeFileAtomic(plainFile, []byte(tok+"\n"), 0o600); err != nil {
		return Entry{}, fmt.Errorf("saving the first token: %w", err)
	}
	e := Entry{Name: BootstrapName, Role: Operator, Hash: Hash(tok),
		Created: now.UTC().Truncate(time.Second)}
	if err := AppendToken(tokensFile, e); err != nil {
		return Entry{}, fmt.Errorf("saving the first token: %w", err)
	}
	return e, nil
}

// logger returns log, or a logger that drops everything when log is nil.
func logger(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
