package bmc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/internal/redfishsim"
	"github.com/rackboot/rackboot/inventory"
)

// fakeSecrets holds Secrets in memory: namespace/name to key to value.
// Empty namespaces are "rackboot", as a real reader's default.
type fakeSecrets struct {
	mu      sync.Mutex
	secrets map[string]map[string]string
	refs    []inventory.SecretRef // what was asked, in order
}

func (f *fakeSecrets) Credentials(_ context.Context, ref inventory.SecretRef) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs = append(f.refs, ref)
	ref = ref.WithDefaults("rackboot")
	data, ok := f.secrets[ref.String()]
	if !ok {
		return "", "", fmt.Errorf("secret %s not found", ref)
	}
	return data[ref.UserKey], data[ref.PasswordKey], nil
}

func (f *fakeSecrets) set(name, key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name][key] = value
}

// newSecretRig is a Redfish rig whose machine names a Secret that f
// holds.
func newSecretRig(t *testing.T) (*redfishRig, *fakeSecrets) {
	t.Helper()
	r := newRedfishRig(t, redfishsim.PowerOn)
	f := &fakeSecrets{secrets: map[string]map[string]string{
		"rackboot/rf1-bmc": {"username": rfUser, "password": rfPass},
		"lab/rf1-bmc":      {"user": rfUser, "pass": rfPass},
	}}
	r.ctl.cfg.Secrets = f
	r.m.BMC.CredentialsFile = ""
	r.m.BMC.CredentialsSecret = &inventory.SecretRef{Name: "rf1-bmc"}
	return r, f
}

func TestRedfishSecretCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		ref  inventory.SecretRef
		want inventory.SecretRef // what the reader is asked
	}{
		{"defaults", inventory.SecretRef{Name: "rf1-bmc"},
			inventory.SecretRef{Name: "rf1-bmc", UserKey: "username", PasswordKey: "password"}},
		{"named keys", inventory.SecretRef{Namespace: "lab", Name: "rf1-bmc", UserKey: "user", PasswordKey: "pass"},
			inventory.SecretRef{Namespace: "lab", Name: "rf1-bmc", UserKey: "user", PasswordKey: "pass"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, f := newSecretRig(t)
			r.m.BMC.CredentialsSecret = &tc.ref
			res, err := r.ctl.Power(context.Background(), r.m, ActionStatus, "test")
			if err != nil {
				t.Fatalf("Power(status) = %v", err)
			}
			if res.Power != PowerOn {
				t.Errorf("Power(status).Power = %q, want %q", res.Power, PowerOn)
			}
			if diff := cmp.Diff([]inventory.SecretRef{tc.want}, f.refs); diff != "" {
				t.Errorf("Secrets asked (-want +got):\n%s", diff)
			}
			r.assertNoSecret(t, rfPass, err)
		})
	}
}

// TestRedfishSecretReadPerOperation checks that a changed Secret takes
// effect at the next operation: nothing is cached.
func TestRedfishSecretReadPerOperation(t *testing.T) {
	r, f := newSecretRig(t)
	ctx := context.Background()
	if _, err := r.ctl.Power(ctx, r.m, ActionStatus, "test"); err != nil {
		t.Fatalf("Power(status) = %v", err)
	}
	f.set("rackboot/rf1-bmc", "password", "not-"+rfPass)
	_, err := r.ctl.Power(ctx, r.m, ActionStatus, "test")
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Power(status) after the password changed = %v, want %v", err, ErrUnauthorized)
	}
	if len(f.refs) != 2 {
		t.Errorf("Secret read %d times in 2 operations, want 2", len(f.refs))
	}
	r.assertNoSecret(t, rfPass, err)
	r.assertNoSecret(t, "not-"+rfPass, err)
}

func TestRedfishSecretFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(r *redfishRig, f *fakeSecrets)
		text  string
	}{
		{"no reader", func(r *redfishRig, _ *fakeSecrets) { r.ctl.cfg.Secrets = nil },
			"credentials_secret rf1-bmc (keys username, password): no Kubernetes API server"},
		{"missing secret", func(r *redfishRig, _ *fakeSecrets) {
			r.m.BMC.CredentialsSecret = &inventory.SecretRef{Namespace: "lab", Name: "gone"}
		}, "reading credentials_secret lab/gone (keys username, password): secret lab/gone not found"},
		{"empty password", func(_ *redfishRig, f *fakeSecrets) { f.set("rackboot/rf1-bmc", "password", "") },
			"credentials_secret rf1-bmc (keys username, password) holds an empty user name or password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, f := newSecretRig(t)
			tc.setup(r, f)
			_, err := r.ctl.Power(context.Background(), r.m, ActionStatus, "test")
			if !errors.Is(err, ErrCredentials) {
				t.Fatalf("Power(status) = %v, want %v", err, ErrCredentials)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Power(status) = %q, want it to contain %q", err, tc.text)
			}
			if n := len(r.sim.Resets()) + r.sim.OpenSessions(); n != 0 {
				t.Errorf("the bmc saw %d resets or sessions, want none", n)
			}
			evs := r.rec.timeline(rfMAC)
			if len(evs) != 1 || !strings.Contains(evs[0].Detail, tc.text) {
				t.Errorf("timeline = %+v, want one event naming %q", evs, tc.text)
			}
			r.assertNoSecret(t, rfPass, err)
		})
	}
}
