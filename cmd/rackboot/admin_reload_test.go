package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/internal/testlog"
)

func TestReloadTokens(t *testing.T) {
	dir := t.TempDir()
	s := &serveSettings{DataDir: dir}
	var logs testlog.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	g, err := s.newGuard(log) // makes the first token
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, adminTokenFile)
	tok, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	status := func() int {
		req := httptest.NewRequest("GET", "/api/v1/machines", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		rec := httptest.NewRecorder()
		g.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, req)
		return rec.Code
	}
	tokens := filepath.Join(dir, tokensFileName)
	kept, err := os.ReadFile(tokens)
	if err != nil {
		t.Fatal(err)
	}
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(tokens, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		change  func()
		want    int
		wantLog string
	}{
		{"unchanged", func() {}, 200, `msg="tokens reloaded" path=` + tokens + " tokens=1"},
		{"a file that does not parse", func() { write("- name: x\n  role: god\n") }, 200,
			`level=ERROR msg="tokens reload failed; keeping the ones in force" path=` + tokens},
		{"an empty file", func() { write("") }, 401,
			`level=WARN msg="no API token left: the admin listener refuses every request ` +
				`until one is added" path=` + tokens},
		{"the token back", func() { write(string(kept)) }, 200, "tokens=1"},
		{"no file", func() { os.Remove(tokens) }, 401, `msg="tokens reloaded" path=` + tokens + " tokens=0"},
	}
	for _, st := range steps {
		st.change()
		before := len(logs.String())
		s.reloadTokens(g, log)
		logged := logs.String()[before:]
		if got := status(); got != st.want {
			t.Errorf("after reloading %s: GET with the first token = %d, want %d", st.name, got, st.want)
		}
		if !strings.Contains(logged, st.wantLog) {
			t.Errorf("reloading %s logged %q, want %q", st.name, logged, st.wantLog)
		}
	}
	if again, _ := os.ReadFile(plain); string(again) != string(tok) {
		t.Errorf("a reload made another first token")
	}
	if _, err := os.Stat(tokens); err == nil {
		t.Errorf("a reload wrote a tokens file")
	}
}
