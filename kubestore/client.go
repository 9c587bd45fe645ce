package kubestore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// scheme knows rackboot's resources and the built-in ones, so that
// Events can refer to a Machine.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// Timeouts of one API call, and how many times a write is tried again
// after a conflict.
const (
	callTimeout = 10 * time.Second
	maxTries    = 6
)

// The client-side request limits the store takes when its rest.Config
// sets none.
const (
	defaultQPS   = 1000
	defaultBurst = 2000
)

// newClients returns a typed client of rackboot.io/v1alpha1 and a client
// of the built-in resources.
func newClients(c *rest.Config) (rest.Interface, kubernetes.Interface, error) {
	cfg := rest.CopyConfig(c)
	if cfg.QPS == 0 {
		// A lease claim is one request per ACK, on the DHCP path: at
		// client-go's 5 (or even 50) requests a second, DHCP workers
		// queue behind the limiter and packets drop. The API server's
		// priority and fairness guard it instead.
		cfg.QPS, cfg.Burst = defaultQPS, defaultBurst
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building kubernetes client: %w", err)
	}
	gv := v1alpha1.GroupVersion
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	client, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building rackboot.io client: %w", err)
	}
	return client, core, nil
}

// getMachine reads the Machine called name from the API server.
func (s *Store) getMachine(ctx context.Context, name string) (*v1alpha1.Machine, error) {
	m := &v1alpha1.Machine{}
	err := s.client.Get().Namespace(s.ns).Resource("machines").Name(name).Do(ctx).Into(m)
	return m, err
}

// writeMachine creates m, or updates it (its status with status set)
// with the resourceVersion it carries, and returns what the API server
// kept.
func (s *Store) writeMachine(ctx context.Context, m *v1alpha1.Machine,
	create, status bool) (*v1alpha1.Machine, error) {
	out := &v1alpha1.Machine{}
	var req *rest.Request
	switch {
	case create:
		req = s.client.Post().Namespace(s.ns).Resource("machines")
	case status:
		req = s.client.Put().Namespace(s.ns).Resource("machines").Name(m.Name).SubResource("status")
	default:
		req = s.client.Put().Namespace(s.ns).Resource("machines").Name(m.Name)
	}
	err := req.Body(m).Do(ctx).Into(out)
	return out, err
}

// unavailable returns err wrapping ErrUnavailable when it says the API
// server could not be reached or did not answer, err itself otherwise.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !isUnavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// isUnavailable reports whether err says the API server could not be
// reached or did not answer, rather than refusing the request.
func isUnavailable(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return true // a transport error: refused, reset, timed out
	}
	code := st.Status().Code
	return code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout ||
		code == http.StatusTooManyRequests || apierrors.IsServerTimeout(err) ||
		apierrors.IsTimeout(err)
}

// retryLater reports whether a queued write that failed with err should
// stay queued: the API server was unreachable, or it refused the write
// the way a freshly started API server does for a moment, before its
// authorizer is ready (401, 403). A queued write refused for good would
// stay queued and keep the store degraded, which is what an operator
// should see while rackboot lacks a permission.
func retryLater(err error) bool {
	return isUnavailable(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}

// backoff sleeps a little before try number try again after a
// conflict, with jitter so that replicas do not collide again.
func backoff(ctx context.Context, try int) {
	d := time.Duration(10<<try+rand.IntN(20)) * time.Millisecond
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// newerOrSame reports whether resourceVersion a is rv or a later one.
// resourceVersions are opaque, but the API server numbers them from
// etcd's revision; when they do not parse, only equality counts.
func newerOrSame(a, rv string) bool {
	if a == rv {
		return true
	}
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(rv, 10, 64)
	return err1 == nil && err2 == nil && x > y
}
