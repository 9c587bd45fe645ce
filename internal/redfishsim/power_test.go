package redfishsim

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOnPower(t *testing.T) {
	tests := []struct {
		name   string
		power  string
		resets []string
		want   []string
	}{
		{"on from off", PowerOff, []string{"On"}, []string{PowerOn}},
		{"on when on", PowerOn, []string{"On"}, nil},
		{"cycle from off", PowerOff, []string{"PowerCycle"}, []string{PowerOn}},
		{"cycle when on", PowerOn, []string{"PowerCycle"}, []string{PowerOff, PowerOn}},
		{"force off", PowerOn, []string{"ForceOff", "ForceOff"}, []string{PowerOff}},
		{"button twice", PowerOff, []string{"PushPowerButton", "PushPowerButton"},
			[]string{PowerOn, PowerOff}},
		{"nmi", PowerOn, []string{"Nmi"}, nil},
	}
	basic := map[string]string{"Authorization": "Basic YWRtaW46c2ltLXB3LTZiMWY="} // admin:sim-pw-6b1f
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			sim := New(Config{User: user, Password: pass, Power: tt.power,
				OnPower: func(state string) error {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, state)
					return nil
				}})
			t.Cleanup(sim.Close)
			for _, r := range tt.resets {
				code, body, _ := do(t, sim, http.MethodPost, resetPath, `{"ResetType":"`+r+`"}`, basic)
				if code != http.StatusNoContent {
					t.Fatalf("Reset %s = %d %s, want 204", r, code, body)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OnPower calls after %q (-want +got):\n%s", tt.resets, diff)
			}
		})
	}
}

func TestOnPowerFails(t *testing.T) {
	sim := New(Config{User: user, Password: pass,
		OnPower: func(string) error { return errors.New("qemu would not start") }})
	t.Cleanup(sim.Close)
	basic := map[string]string{"Authorization": "Basic YWRtaW46c2ltLXB3LTZiMWY="}
	code, body, _ := do(t, sim, http.MethodPost, resetPath, `{"ResetType":"On"}`, basic)
	if code != http.StatusInternalServerError || !strings.Contains(body, "qemu would not start") {
		t.Errorf("Reset On with a failing guest = %d %s, want 500 naming the cause", code, body)
	}
}
