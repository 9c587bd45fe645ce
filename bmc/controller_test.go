package bmc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

// fakeRack stands for many BMCs; its clients inject faults and count
// what runs at once.
type fakeRack struct {
	mu sync.Mutex
	// guarded by mu
	power       map[string]string // host -> "On" / "Off"
	calls       []string          // "host proto call"
	inFlight    int
	maxInFlight int
	perBMC      map[string]int
	maxPerBMC   int
	opens       int
	closes      int
	// Faults, set before use.
	openErr  map[inventory.BMCProtocol]error
	callErr  map[string]error // call name -> error
	slow     time.Duration    // GetPowerState takes this long
	hang     bool             // GetPowerState blocks until ctx ends
	softOnly bool             // "soft" does nothing
}

func newFakeRack() *fakeRack {
	return &fakeRack{power: map[string]string{}, perBMC: map[string]int{},
		openErr: map[inventory.BMCProtocol]error{}, callErr: map[string]error{}}
}

func (f *fakeRack) dial(t Target) (Client, error) {
	return &fakeClient{f: f, t: t}, nil
}

func (f *fakeRack) note(t Target, call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s %s", t.Host, t.Protocol, call))
	return f.callErr[call]
}

type fakeClient struct {
	f *fakeRack
	t Target
}

func (c *fakeClient) Open(ctx context.Context) error {
	if err := c.f.note(c.t, "open"); err != nil {
		return err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.openErr[c.t.Protocol]; err != nil {
		return err
	}
	f.opens++
	f.inFlight++
	f.perBMC[c.t.Host]++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.maxPerBMC = max(f.maxPerBMC, f.perBMC[c.t.Host])
	return nil
}

func (c *fakeClient) Close(ctx context.Context) error {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	f.inFlight--
	f.perBMC[c.t.Host]--
	return nil
}

func (c *fakeClient) GetPowerState(ctx context.Context) (string, error) {
	if err := c.f.note(c.t, "power-state"); err != nil {
		return "", err
	}
	select {
	case <-time.After(c.f.slow):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if c.f.hang {
		<-ctx.Done()
		return "", ctx.Err()
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if p := c.f.power[c.t.Host]; p != "" {
		return p, nil
	}
	return "Off", nil
}

func (c *fakeClient) SetPowerState(ctx context.Context, state string) (bool, error) {
	if err := c.f.note(c.t, "set-"+state); err != nil {
		return false, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	switch {
	case state == "on" || state == "cycle" || state == "reset":
		c.f.power[c.t.Host] = "On"
	case state == "off" || state == "soft" && !c.f.softOnly:
		c.f.power[c.t.Host] = "Off"
	}
	return true, nil
}

func (c *fakeClient) SetBootDevice(ctx context.Context, device string, persistent, efi bool) (bool, error) {
	return true, c.f.note(c.t, "set-boot")
}

func fakeMachine(t *testing.T, name, host string, proto inventory.BMCProtocol) inventory.Machine {
	return machine(name, "02:00:00:00:01:01", &inventory.BMC{
		Address: host, Protocol: proto, CredentialsFile: credFile(t, "admin", "fake-secret-pw")})
}

func TestConcurrencyLimits(t *testing.T) {
	f := newFakeRack()
	f.slow = 20 * time.Millisecond
	r := newRig(t, Config{MaxConcurrent: 2, Dial: f.dial})
	hosts := []string{"bmc-a", "bmc-b", "bmc-c"}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		m := fakeMachine(t, fmt.Sprintf("n%d", i), hosts[i%3], inventory.BMCIPMI)
		wg.Go(func() {
			_, err := r.ctl.Power(context.Background(), m, ActionStatus, "test")
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
	if f.maxInFlight > 2 || f.maxPerBMC != 1 {
		t.Errorf("at most %d in flight across the rack and %d on one BMC, want <= 2 and 1", f.maxInFlight, f.maxPerBMC)
	}
	if f.opens != 12 || f.closes != 12 {
		t.Errorf("%d sessions opened, %d closed, want 12, 12", f.opens, f.closes)
	}
}

func TestSessionClosedOnFailure(t *testing.T) {
	tests := []struct {
		name  string
		fault func(f *fakeRack)
		op    func(c *Controller, m inventory.Machine) (Result, error)
		want  error
	}{
		{"call fails", func(f *fakeRack) { f.callErr["set-boot"] = errors.New("boom") },
			func(c *Controller, m inventory.Machine) (Result, error) {
				return c.PXEOnce(context.Background(), m, "test")
			}, nil},
		{"call hangs", func(f *fakeRack) { f.hang = true },
			func(c *Controller, m inventory.Machine) (Result, error) {
				return c.Power(context.Background(), m, ActionStatus, "test")
			}, ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRack()
			tt.fault(f)
			r := newRig(t, Config{Timeout: 200 * time.Millisecond, Dial: f.dial})
			before := runtime.NumGoroutine()
			_, err := tt.op(r.ctl, fakeMachine(t, "n1", "bmc-a", inventory.BMCRedfish))
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("op = %v, want an error wrapping %v", err, tt.want)
			}
			if f.opens != 1 || f.closes != 1 {
				t.Errorf("%d sessions opened, %d closed, want 1, 1", f.opens, f.closes)
			}
			settleGoroutines(t, before)
		})
	}
}

func TestAutoFallsBackToIPMI(t *testing.T) {
	f := newFakeRack()
	f.openErr[inventory.BMCRedfish] = errors.New("connection refused")
	r := newRig(t, Config{Dial: f.dial})
	m := fakeMachine(t, "n1", "bmc-a", "")
	for i := range 2 {
		res, err := r.ctl.Power(context.Background(), m, ActionStatus, "test")
		if err != nil || res.Protocol != inventory.BMCIPMI {
			t.Fatalf("status %d = %s, %v; want via ipmi, nil", i, res.Protocol, err)
		}
	}
	want := []string{"bmc-a redfish open", "bmc-a ipmi open", "bmc-a ipmi power-state",
		"bmc-a ipmi open", "bmc-a ipmi power-state"} // the second call goes straight to IPMI
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	// When the learned protocol fails, the next call tries both again.
	f.openErr[inventory.BMCIPMI] = errors.New("no answer")
	_, err := r.ctl.Power(context.Background(), m, ActionStatus, "test")
	if err == nil || !strings.Contains(err.Error(), "logging in: no answer") {
		t.Errorf("status with IPMI down = %v, want IPMI's error", err)
	}
	_, err = r.ctl.Power(context.Background(), m, ActionStatus, "test")
	if err == nil || !strings.Contains(err.Error(), "redfish: connection refused; ipmi: no answer") {
		t.Errorf("next status = %v, want both protocols' errors", err)
	}
}

func TestOffSoftThenHard(t *testing.T) {
	tests := []struct {
		name     string
		softOnly bool
		softErr  error
		calls    []string
		detail   string
	}{
		{"soft honoured", false, nil, []string{"set-soft"}, "soft off"},
		{"soft ignored", true, nil, []string{"set-soft", "set-off"}, "still on 300ms after soft off: forced off"},
		{"soft refused", true, errors.New("GracefulShutdown not supported"),
			[]string{"set-soft", "set-off"}, "soft off refused (power soft: GracefulShutdown not supported): forced off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRack()
			f.softOnly, f.callErr["set-soft"] = tt.softOnly, tt.softErr
			f.power["bmc-a"] = "On"
			r := newRig(t, Config{SoftOffGrace: 300 * time.Millisecond, PollInterval: 10 * time.Millisecond, Dial: f.dial})
			res, err := r.ctl.Power(context.Background(), fakeMachine(t, "n1", "bmc-a", inventory.BMCIPMI), ActionOff, "test")
			if err != nil {
				t.Fatalf("Power(off) = %v", err)
			}
			var sets []string
			for _, c := range f.calls {
				if call, ok := strings.CutPrefix(c, "bmc-a ipmi "); ok && strings.HasPrefix(call, "set-") {
					sets = append(sets, call)
				}
			}
			if diff := cmp.Diff(tt.calls, sets); diff != "" {
				t.Errorf("power requests (-want +got):\n%s", diff)
			}
			if res.Power != PowerOff || res.Detail != tt.detail {
				t.Errorf("Power(off) = %s, %q; want off, %q", res.Power, res.Detail, tt.detail)
			}
		})
	}
}

func TestCredentialsNeverShown(t *testing.T) {
	const pass = "s3cret/pass word"
	f := newFakeRack()
	basic := base64.StdEncoding.EncodeToString([]byte("admin:" + pass))
	f.openErr[inventory.BMCRedfish] = fmt.Errorf("bmc says: bad password %q (%s, %s, Authorization: Basic %s)",
		pass, url.QueryEscape(pass), url.PathEscape(pass), basic)
	r := newRig(t, Config{Dial: f.dial})
	m := fakeMachine(t, "n1", "bmc-a", inventory.BMCRedfish)
	m.BMC.CredentialsFile = credFile(t, "admin", pass)
	_, err := r.ctl.Power(context.Background(), m, ActionOn, "test")
	if err == nil || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("Power(on) = %v, want an error with the password redacted", err)
	}
	for _, secret := range []string{pass, url.QueryEscape(pass), url.PathEscape(pass), basic} {
		r.assertNoSecret(t, secret, err)
	}
	for _, v := range []any{credentials{"admin", pass}, Target{User: "admin", Password: pass}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, pass) {
				t.Errorf("Sprintf(%q, %T) = %q shows the password", verb, v, s)
			}
		}
	}
}

func TestNoBMC(t *testing.T) {
	r := newRig(t, Config{Dial: newFakeRack().dial})
	_, err := r.ctl.PXEOnce(context.Background(), machine("n1", "02:00:00:00:00:01", nil), "test")
	if !errors.Is(err, ErrNoBMC) {
		t.Errorf("PXEOnce without a bmc = %v, want ErrNoBMC", err)
	}
}

func TestTimelineInStore(t *testing.T) {
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := newFakeRack()
	ctl, err := New(Config{Dial: f.dial}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := fakeMachine(t, "n1", "bmc-a", inventory.BMCIPMI)
	if _, err := ctl.Power(context.Background(), m, ActionOn, "api 192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	evs, err := store.Timeline(m.MACs[0])
	if err != nil || len(evs) != 1 {
		t.Fatalf("Timeline = %v, %v; want one event", evs, err)
	}
	want := "by api 192.0.2.1: on via ipmi: ok in "
	if evs[0].Kind != inventory.EventBMCPower || !strings.HasPrefix(evs[0].Detail, want) ||
		!strings.HasSuffix(evs[0].Detail, ": power on requested; power on") {
		t.Errorf("event = %s %q, want bmc-power %q...", evs[0].Kind, evs[0].Detail, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Timeout: -1}, "Timeout"},
		{Config{SoftOffGrace: -1}, "SoftOffGrace"},
		{Config{PollInterval: -1}, "PollInterval"},
		{Config{MaxConcurrent: -1}, "MaxConcurrent"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg, &memRecorder{}, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.want)
		}
	}
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("New without a Recorder = nil error")
	}
}
