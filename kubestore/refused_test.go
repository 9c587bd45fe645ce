package kubestore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestRetryLater keeps queued writes the API server refused the way a
// freshly started one does, and drops those it refused on their merits.
func TestRetryLater(t *testing.T) {
	gr := schema.GroupResource{Group: "rackboot.io", Resource: "machines"}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"transport", errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"), true},
		{"unavailable", apierrors.NewServiceUnavailable("starting"), true},
		{"forbidden", apierrors.NewForbidden(gr, "node1", errors.New("rbac not ready")), true},
		{"unauthorized", apierrors.NewUnauthorized("token not ready"), true},
		{"invalid", apierrors.NewBadRequest("status.state: unsupported value"), false},
		{"not found", apierrors.NewNotFound(gr, "node1"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryLater(tc.err); got != tc.want {
				t.Errorf("retryLater(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestRefusedWritesDegrade keeps the store degraded while the API server
// answers its probe but refuses the queued writes, until one is taken.
func TestRefusedWritesDegrade(t *testing.T) {
	s := &Store{health: health{now: time.Now}}
	s.writer = newStatusWriter(s)
	gr := schema.GroupResource{Group: "rackboot.io", Resource: "machines"}
	s.health.refuse(apierrors.NewForbidden(gr, "node1", errors.New("no update on machines/status")))
	s.health.up() // the probe: /readyz answers
	if h := s.Health(); !h.Degraded || !strings.Contains(h.Reason, "refuses") {
		t.Errorf("Health() after a refused write = %+v, want degraded saying the writes are refused", h)
	}
	s.health.accept()
	if h := s.Health(); h.Degraded {
		t.Errorf("Health() after a write was taken = %+v, want healthy", h)
	}
}

// TestPlain takes client-go's wrapping off the reasons Health gives.
func TestPlain(t *testing.T) {
	gr := schema.GroupResource{Group: "rackboot.io", Resource: "machines"}
	forbidden := apierrors.NewForbidden(gr, "", errors.New(`User "x" cannot list resource "machines"`))
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"limiter past deadline", &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/readyz",
			Err: errors.New(limiterWrap + "rate: Wait(n=1) would exceed context deadline")},
			`Get "https://127.0.0.1:6443/readyz": context deadline exceeded`},
		{"limiter canceled", fmt.Errorf(limiterWrap+"%w", context.Canceled), "context canceled"},
		{"wrapped refusal", fmt.Errorf("failed to list *v1alpha1.Machine: %w", forbidden),
			`machines.rackboot.io is forbidden: User "x" cannot list resource "machines"`},
		{"transport", errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"),
			"dial tcp 127.0.0.1:6443: connect: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := plain(tc.err); got != tc.want {
				t.Errorf("plain(%q) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
