package auth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	hashA = "sha256:" + strings.Repeat("a", 64)
	hashB = "sha256:" + strings.Repeat("b", 64)
)

func TestParseTokens(t *testing.T) {
	created := time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    []Entry
		wantErr string
	}{
		{"hash without prefix", `
# operators
- name: alice
  role: operator
  hash: ` + hashA + `
  created: 2026-12-04T19:00:00Z
- {name: ci-bot, role: viewer, hash: "` + strings.ToUpper(hashB[7:]) + `"}
`, nil, `entry 2 ("ci-bot"): hash does not start with "sha256:"`},
		{"ok", `
- name: alice
  role: operator
  hash: ` + hashA + `
  created: 2026-12-04T19:00:00Z
- {name: ci-bot, role: viewer, hash: "sha256:` + strings.Repeat("B", 64) + `"}
`, []Entry{
			{Name: "alice", Role: Operator, Hash: hashA, Created: created},
			{Name: "ci-bot", Role: Viewer, Hash: hashB},
		}, ""},
		{"empty", "", []Entry{}, ""},
		{"comments only", "# nothing yet\n", []Entry{}, ""},
		{"empty list", "[]", []Entry{}, ""},
		{"bad role", "- {name: bob, role: admin, hash: " + hashA + "}",
			nil, `entry 1 ("bob"): role "admin": not viewer or operator`},
		{"no role", "- {name: bob, hash: " + hashA + "}",
			nil, `entry 1 ("bob"): role "": not viewer or operator`},
		{"short hash", "- {name: bob, role: viewer, hash: sha256:abc}",
			nil, `entry 1 ("bob"): hash: want sha256: and 64 hex digits`},
		{"plain token as hash", "- {name: bob, role: viewer, hash: rbt_xyz}",
			nil, `entry 1 ("bob"): hash does not start with`},
		{"duplicate name", "- {name: bob, role: viewer, hash: " + hashA + "}\n" +
			"- {name: bob, role: operator, hash: " + hashB + "}",
			nil, `entry 2 ("bob"): name used by an earlier entry`},
		{"duplicate hash", "- {name: bob, role: viewer, hash: " + hashA + "}\n" +
			"- {name: carol, role: operator, hash: " + hashA + "}",
			nil, `entry 2 ("carol"): same hash as "bob"`},
		{"unknown key", "- {name: bob, role: viewer, hash: " + hashA + ", token: x}",
			nil, `entry 1 ("bob"): json: unknown field "token"`},
		{"duplicate key", "- name: bob\n  name: eve\n  role: viewer\n  hash: " + hashA,
			nil, `parsing yaml`},
		{"no name", "- {role: viewer, hash: " + hashA + "}", nil, `entry 1: name is empty`},
		{"bad name", "- {name: 'bob smith', role: viewer, hash: " + hashA + "}",
			nil, `entry 1 ("bob smith"): name "bob smith": only letters`},
		{"numeric name", "- {name: 42, role: viewer, hash: " + hashA + "}",
			nil, `entry 1: json: cannot unmarshal number`},
		{"not a list", "name: bob", nil, "want a list of entries"},
		{"bad time", "- {name: bob, role: viewer, hash: " + hashA + ", created: yesterday}",
			nil, `entry 1 ("bob"):`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTokens([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTokens() = %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTokens() = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseTokens() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEnvTokens(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Entry
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"one", "ci:viewer:" + hashA, []Entry{{Name: "ci", Role: Viewer, Hash: hashA}}, ""},
		{"spaces, trailing comma, upper case", " ci:viewer:" + hashA + " , ops:operator:sha256:" +
			strings.ToUpper(hashB[7:]) + ",",
			[]Entry{{Name: "ci", Role: Viewer, Hash: hashA}, {Name: "ops", Role: Operator, Hash: hashB}}, ""},
		{"prefix in upper case", "ops:operator:SHA256:" + hashB[7:],
			nil, `entry 1 ("ops"): hash does not start with "sha256:"`},
		{"two", "ci:viewer:" + hashA + ",ops:operator:" + hashB,
			[]Entry{{Name: "ci", Role: Viewer, Hash: hashA}, {Name: "ops", Role: Operator, Hash: hashB}}, ""},
		{"missing hash", "ci:viewer", nil, "entry 1: want name:role:sha256:<hex>"},
		{"bad role", "ci:root:" + hashA, nil, `entry 1 ("ci"): role "root"`},
		{"bad hash", "ci:viewer:sha256:12", nil, `entry 1 ("ci"): hash: want`},
		{"duplicate", "ci:viewer:" + hashA + ",ci:operator:" + hashB, nil, `entry 2 ("ci"): name used`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvTokens(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseEnvTokens(%q) = %v, want error %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEnvTokens(%q) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseEnvTokens(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestReadTokensFileMissing(t *testing.T) {
	got, err := ReadTokensFile(filepath.Join(t.TempDir(), "tokens"))
	if err != nil || len(got) != 0 {
		t.Errorf("ReadTokensFile(missing) = %v, %v, want no entries", got, err)
	}
}

func TestAppendToken(t *testing.T) {
	created := time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)
	alice := Entry{Name: "alice", Role: Operator, Hash: hashA, Created: created}
	bob := Entry{Name: "bob", Role: Viewer, Hash: hashB}
	tests := []struct {
		name     string
		old      string // "" : no file
		wantText string // what the new file starts with
	}{
		{"new file", "", "- name: \"bob\"\n  role: viewer\n"},
		{"keeps comments", "# our tokens\n" + renderEntry(alice), "# our tokens\n- name: \"alice\""},
		{"no final newline", strings.TrimSuffix(renderEntry(alice), "\n"), "- name: \"alice\""},
		{"flow list", "[{name: alice, role: operator, hash: " + hashA + ", created: 2026-12-04T19:00:00Z}]",
			"- name: \"alice\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "etc", "tokens")
			want := []Entry{bob}
			if tt.old != "" {
				writeTestFile(t, path, tt.old)
				want = []Entry{alice, bob}
			}
			if err := AppendToken(path, bob); err != nil {
				t.Fatalf("AppendToken() = %v", err)
			}
			got, err := ReadTokensFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("entries after AppendToken (-want +got):\n%s", diff)
			}
			data, _ := os.ReadFile(path)
			if !strings.HasPrefix(string(data), tt.wantText) {
				t.Errorf("file = %q, want it to start with %q", data, tt.wantText)
			}
			checkMode(t, path, 0o600)
		})
	}
}

func TestAppendTokenRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	alice := Entry{Name: "alice", Role: Operator, Hash: hashA}
	if err := AppendToken(path, alice); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"same name", Entry{Name: "alice", Role: Viewer, Hash: hashB}, "name used by an earlier entry"},
		{"same hash", Entry{Name: "bob", Role: Viewer, Hash: hashA}, `same hash as "alice"`},
		{"bad role", Entry{Name: "bob", Role: "root", Hash: hashB}, `role "root"`},
		{"bad name", Entry{Name: "bob:x", Role: Viewer, Hash: hashB}, "only letters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AppendToken(path, tt.e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("AppendToken(%+v) = %v, want %q", tt.e, err, tt.want)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Errorf("a refused AppendToken changed the file to %q", after)
			}
		})
	}
	writeTestFile(t, path, "- {name: x, role: nobody, hash: "+hashB+"}\n")
	err := AppendToken(path, Entry{Name: "bob", Role: Viewer, Hash: hashB})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("AppendToken to a broken file = %v, want an error naming it", err)
	}
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add([]byte(renderEntry(Entry{Name: "a", Role: Viewer, Hash: hashA})))
	f.Add([]byte("[{name: x}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseTokens(data)
		if err != nil {
			return
		}
		if _, err := NewKeyring(entries); err != nil {
			t.Errorf("ParseTokens accepted entries NewKeyring refuses: %v", err)
		}
	})
}

func FuzzParseEnvTokens(f *testing.F) {
	f.Add("ci:viewer:" + hashA + ",x:operator:" + hashB)
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := ParseEnvTokens(s)
		if err != nil {
			return
		}
		if _, err := NewKeyring(entries); err != nil {
			t.Errorf("ParseEnvTokens accepted entries NewKeyring refuses: %v", err)
		}
	})
}

// Appends from many processes at once each keep their entry.
func TestAppendTokenConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			tok, err := NewToken()
			if err == nil {
				err = AppendToken(path, Entry{Name: fmt.Sprintf("user%d", i), Role: Viewer, Hash: Hash(tok)})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	entries, err := ReadTokensFile(path)
	if err != nil || len(entries) != n {
		t.Fatalf("tokens file holds %d entries (%v), want %d", len(entries), err, n)
	}
}
