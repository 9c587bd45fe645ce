package auth

import (
	"net/http"
	"strings"
	"testing"
)

func TestSuccessResetsFailures(t *testing.T) {
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	wrong := "rbt_" + strings.Repeat("A", 42) + "E"
	tests := []struct {
		name string
		try  func(t *testing.T, r *rig, tok string) answer
	}{
		{"sign-in", func(t *testing.T, r *rig, tok string) answer {
			return r.do(t, "POST", "/login", form, "token="+tok)
		}},
		{"bearer", func(t *testing.T, r *rig, tok string) answer {
			return r.do(t, "GET", "/api/v1/thing", bearer(tok), "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			for round := range 3 {
				for i := range Burst - 1 {
					if got := tt.try(t, r, wrong); got.status != 401 {
						t.Fatalf("round %d: wrong token %d = %d, want 401", round+1, i+1, got.status)
					}
				}
				if got := tt.try(t, r, r.opTok); got.status != 200 {
					t.Fatalf("round %d: right token after %d failures = %d %q, want 200",
						round+1, Burst-1, got.status, got.code)
				}
			}
		})
	}
}
