package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/auth"
)

func TestTokenCreateAndList(t *testing.T) {
	dataDir := t.TempDir()
	created := map[string]string{} // name: token
	for _, c := range []struct{ name, role string }{{"alice", "operator"}, {"ci", "viewer"}} {
		var out, errOut strings.Builder
		args := []string{"token", "create", "--data-dir", dataDir, "--name", c.name, "--role", c.role}
		if err := run(t.Context(), args, &out, &errOut, mapEnv(nil)); err != nil {
			t.Fatalf("rackboot %v = %v (stderr %q)", args, err, errOut.String())
		}
		tok := strings.TrimSuffix(out.String(), "\n")
		if !auth.WellFormed(tok) {
			t.Fatalf("token create printed %q, want only the token", out.String())
		}
		if strings.Contains(errOut.String(), tok) || !strings.Contains(errOut.String(), "only this once") {
			t.Errorf("token create's note = %q, want a note without the token", errOut.String())
		}
		created[c.name] = tok
	}

	ring, err := auth.Load(auth.Files{Tokens: filepath.Join(dataDir, "tokens")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range created {
		if id, ok := ring.Authenticate(tok); !ok || id.Name != name {
			t.Errorf("Authenticate(%s's token) = %v, %v", name, id, ok)
		}
	}
	if id, _ := ring.Authenticate(created["ci"]); id.Role != auth.Viewer {
		t.Errorf("ci's role = %s, want viewer", id.Role)
	}

	var out strings.Builder
	env := mapEnv(map[string]string{"RACKBOOT_DATA_DIR": dataDir})
	if err := run(t.Context(), []string{"token", "list"}, &out, io.Discard, env); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var got []string
	for _, l := range lines {
		got = append(got, strings.Join(strings.Fields(l)[:2], " "))
	}
	if strings.Join(got, "; ") != "NAME ROLE; alice operator; ci viewer" {
		t.Errorf("token list printed\n%s\nwant alice operator and ci viewer", out.String())
	}
	for _, tok := range created {
		if strings.Contains(out.String(), tok) || strings.Contains(out.String(), auth.Hash(tok)) {
			t.Errorf("token list shows a token or its hash:\n%s", out.String())
		}
	}
}

func TestTokenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens")
	var out strings.Builder
	if err := run(t.Context(), []string{"token", "create", "--tokens-file", file, "--name", "alice",
		"--role", "viewer"}, &out, io.Discard, mapEnv(nil)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage"},
		{"unknown command", []string{"frob"}, "usage"},
		{"no name", []string{"create", "--role", "viewer"}, "--name and --role are required"},
		{"no role", []string{"create", "--name", "bob"}, "--name and --role are required"},
		{"bad role", []string{"create", "--name", "bob", "--role", "admin"}, `role "admin": not viewer or operator`},
		{"bad name", []string{"create", "--name", "bob smith", "--role", "viewer"}, "only letters"},
		{"taken name", []string{"create", "--name", "alice", "--role", "operator"}, `("alice"): name used`},
		{"operand", []string{"list", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"token"}, tt.args...)
			if len(tt.args) > 0 && (tt.args[0] == "create" || tt.args[0] == "list") {
				args = append(args[:2:2], append([]string{"--tokens-file", file}, tt.args[1:]...)...)
			}
			var out strings.Builder
			err := run(t.Context(), args, &out, io.Discard, mapEnv(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("rackboot %v = %v, want %q", args, err, tt.want)
			}
			if out.Len() > 0 {
				t.Errorf("rackboot %v printed %q on a failure", args, out.String())
			}
		})
	}
}
