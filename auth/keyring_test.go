package auth

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/internal/testlog"
)

// newTestToken returns a new token and its entry.
func newTestToken(t testing.TB, name string, role Role) (string, Entry) {
	t.Helper()
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok, Entry{Name: name, Role: role, Hash: Hash(tok)}
}

func TestKeyringAuthenticate(t *testing.T) {
	aliceTok, alice := newTestToken(t, "alice", Operator)
	bobTok, bob := newTestToken(t, "bob", Viewer)
	strangerTok, _ := newTestToken(t, "stranger", Operator)
	ring, err := NewKeyring([]Entry{alice, bob})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tok    string
		want   Identity
		wantOK bool
	}{
		{"operator", aliceTok, Identity{"alice", Operator}, true},
		{"viewer", bobTok, Identity{"bob", Viewer}, true},
		{"unknown", strangerTok, Identity{}, false},
		{"empty", "", Identity{}, false},
		{"hash instead of token", alice.Hash, Identity{}, false},
		{"cut short", aliceTok[:len(aliceTok)-1], Identity{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ring.Authenticate(tt.tok)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Authenticate() = %v, %v, want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if ring.Len() != 2 {
		t.Errorf("Len() = %d, want 2", ring.Len())
	}
}

func TestNewKeyringRefuses(t *testing.T) {
	_, a := newTestToken(t, "a", Viewer)
	tests := []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"duplicate", []Entry{a, {Name: "a", Role: Operator, Hash: hashB}}, `entry 2 ("a"): name used`},
		{"bad role", []Entry{{Name: "x", Role: "god", Hash: hashB}}, `entry 1 ("x"): role "god"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKeyring(tt.entries); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewKeyring() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadBootstraps(t *testing.T) {
	dir := t.TempDir()
	var logs testlog.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	f := Files{Tokens: filepath.Join(dir, "tokens"), Bootstrap: filepath.Join(dir, "admin.token")}
	ring, err := Load(f, log)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	checkMode(t, f.Bootstrap, 0o600)
	checkMode(t, f.Tokens, 0o600)
	data, err := os.ReadFile(f.Bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(data))
	if id, ok := ring.Authenticate(tok); !ok || id != (Identity{"admin", Operator}) {
		t.Errorf("Authenticate(the bootstrap token) = %v, %v, want admin operator", id, ok)
	}
	if strings.Contains(logs.String(), tok) {
		t.Errorf("the log carries the token: %s", logs.String())
	}
	if !strings.Contains(logs.String(), f.Bootstrap) {
		t.Errorf("the log does not say where the token is: %s", logs.String())
	}

	// The second start finds the token and makes no other.
	ring, err = Load(f, log)
	if err != nil || ring.Len() != 1 {
		t.Fatalf("second Load() = %v, %v, want the one token", ring, err)
	}
	if again, _ := os.ReadFile(f.Bootstrap); string(again) != string(data) {
		t.Errorf("the second Load rewrote %s", f.Bootstrap)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	_, alice := newTestToken(t, "alice", Operator)
	if err := AppendToken(tokens, alice); err != nil {
		t.Fatal(err)
	}
	ciTok, ci := newTestToken(t, "ci", Viewer)
	tests := []struct {
		name    string
		f       Files
		wantLen int
		wantErr string
	}{
		{"file", Files{Tokens: tokens, Bootstrap: filepath.Join(dir, "a")}, 1, ""},
		{"file and env", Files{Tokens: tokens, Env: "ci:viewer:" + ci.Hash}, 2, ""},
		{"env only", Files{Tokens: filepath.Join(dir, "none"), Env: "ci:viewer:" + ci.Hash}, 1, ""},
		{"env repeats a file name", Files{Tokens: tokens, Env: "alice:viewer:" + ci.Hash},
			0, `entry 2 ("alice"): name used`},
		{"bad env", Files{Tokens: tokens, Env: "ci:viewer"}, 0, "RACKBOOT_TOKENS: entry 1"},
		{"nothing, no bootstrap", Files{Tokens: filepath.Join(dir, "none")}, 0,
			"make one with rackboot token create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring, err := Load(tt.f, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load(%+v) = %v, want %q", tt.f, err, tt.wantErr)
				}
				return
			}
			if err != nil || ring.Len() != tt.wantLen {
				t.Fatalf("Load(%+v) = %v, %v, want %d tokens", tt.f, ring, err, tt.wantLen)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Errorf("Load bootstrapped a token although the file had one")
	}
	ring, _ := Load(Files{Tokens: tokens, Env: "ci:viewer:" + ci.Hash}, nil)
	if id, ok := ring.Authenticate(ciTok); !ok || id != (Identity{"ci", Viewer}) {
		t.Errorf("Authenticate(env token) = %v, %v, want ci viewer", id, ok)
	}
}

func TestBootstrapEntry(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 4, 19, 0, 0, 5, time.FixedZone("x", 3600))
	e, err := Bootstrap(filepath.Join(dir, "tokens"), filepath.Join(dir, "sub", "admin.token"), now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadTokensFile(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{Name: "admin", Role: Operator, Hash: e.Hash,
		Created: time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens file after Bootstrap (-want +got):\n%s", diff)
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	_, alice := newTestToken(t, "alice", Operator)
	withAlice := filepath.Join(dir, "alice")
	if err := AppendToken(withAlice, alice); err != nil {
		t.Fatal(err)
	}
	_, ci := newTestToken(t, "ci", Viewer)
	empty := write("empty", "")
	comments := write("comments", "# every token revoked\n")
	bad := write("bad", "- name: x\n  role: god\n")
	missing := filepath.Join(dir, "missing")
	plain := filepath.Join(dir, "admin.token")
	tests := []struct {
		name     string
		f        Files
		wantLen  int
		wantWarn bool
		wantErr  string
	}{
		{"file", Files{Tokens: withAlice, Bootstrap: plain}, 1, false, ""},
		{"empty file", Files{Tokens: empty, Bootstrap: plain}, 0, true, ""},
		{"only comments", Files{Tokens: comments, Bootstrap: plain}, 0, true, ""},
		{"missing file", Files{Tokens: missing, Bootstrap: plain}, 0, true, ""},
		{"blank env", Files{Tokens: empty, Env: " , "}, 0, true, ""},
		{"env only", Files{Tokens: missing, Env: "ci:viewer:" + ci.Hash}, 1, false, ""},
		{"bad file", Files{Tokens: bad}, 0, false, `entry 1 ("x"): role "god"`},
		{"bad env", Files{Tokens: empty, Env: "ci:viewer"}, 0, false, "RACKBOOT_TOKENS: entry 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testlog.Buffer
			ring, err := Reload(tt.f, slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Reload(%+v) = %v, want %q", tt.f, err, tt.wantErr)
				}
				return
			}
			if err != nil || ring.Len() != tt.wantLen {
				t.Fatalf("Reload(%+v) = %v, %v, want %d tokens", tt.f, ring, err, tt.wantLen)
			}
			warn := `level=WARN msg="no API token left: the admin listener refuses every ` +
				`request until one is added" path=` + tt.f.Tokens + "\n"
			if got := strings.Contains(logs.String(), warn); got != tt.wantWarn {
				t.Errorf("Reload(%+v) logged %q, want the warning %v", tt.f, logs.String(), tt.wantWarn)
			}
		})
	}
	if _, err := os.Stat(plain); err == nil {
		t.Errorf("Reload made a first token")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("Reload made a tokens file")
	}
}
