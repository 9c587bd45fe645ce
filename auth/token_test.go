package auth

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 47 || !strings.HasPrefix(tok, "rbt_") || !WellFormed(tok) {
			t.Fatalf("NewToken() = %q, want rbt_ and 43 base64url characters", tok)
		}
		if seen[tok] {
			t.Fatalf("NewToken() returned %q twice", tok)
		}
		seen[tok] = true
	}
}

func TestWellFormed(t *testing.T) {
	good := "rbt_" + strings.Repeat("A", 42) + "E"
	tests := []struct {
		in   string
		want bool
	}{
		{good, true},
		{"", false},
		{"rbt_", false},
		{strings.Replace(good, "rbt_", "rbx_", 1), false},
		{good + "A", false},
		{good[:len(good)-1], false},
		{good[:len(good)-1] + "=", false},
		{good[:len(good)-1] + "+", false},
		// 43 characters carry 258 bits: the last one's low bits must be 0.
		{good[:len(good)-1] + "B", false},
	}
	for _, tt := range tests {
		if got := WellFormed(tt.in); got != tt.want {
			t.Errorf("WellFormed(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHash(t *testing.T) {
	// FIPS 180-2 appendix B.1.
	want := "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := Hash("abc"); got != want {
		t.Errorf("Hash(abc) = %s, want %s", got, want)
	}
}

func TestNormalHash(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		in, want, wantErr string
	}{
		{"sha256:" + hex, "sha256:" + hex, ""},
		{"sha256:" + strings.ToUpper(hex), "sha256:" + hex, ""},
		{hex, "", "does not start with"},
		{"sha512:" + hex, "", "does not start with"},
		{"sha256:" + hex[:62], "", "64 hex digits"},
		{"sha256:" + hex + "ab", "", "64 hex digits"},
		{"sha256:" + hex[:62] + "zz", "", "64 hex digits"},
	}
	for _, tt := range tests {
		got, err := normalHash(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("normalHash(%q) = %v, want error %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("normalHash(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRoleAllows(t *testing.T) {
	tests := []struct {
		role   Role
		method string
		want   bool
	}{
		{Viewer, "GET", true},
		{Viewer, "HEAD", true},
		{Viewer, "POST", false},
		{Viewer, "PUT", false},
		{Viewer, "DELETE", false},
		{Viewer, "PATCH", false},
		{Viewer, "OPTIONS", false},
		{Operator, "GET", true},
		{Operator, "POST", true},
		{Operator, "DELETE", true},
		{Role("admin"), "GET", false},
		{Role(""), "GET", false},
	}
	for _, tt := range tests {
		if got := tt.role.Allows(tt.method); got != tt.want {
			t.Errorf("Role(%q).Allows(%s) = %v, want %v", tt.role, tt.method, got, tt.want)
		}
	}
}

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
