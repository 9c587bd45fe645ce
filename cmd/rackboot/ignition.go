package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"golang.org/x/sync/singleflight"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/rackboot/rackboot/ignition"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/join"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/tracker"
	"github.com/rackboot/rackboot/web"
)

// minKubeProxyCertTTL is the shortest certificate the kube-apiserver-client
// signer issues.
const minKubeProxyCertTTL = 10 * time.Minute

// clusterCheckTimeout bounds the cluster check at start.
const clusterCheckTimeout = 30 * time.Second

// setupCluster connects rackboot to the cluster --kubeconfig names: w
// serves /ignition?mac=&uuid= with join credentials minted there, and the
// registration tracker follows each machine to a Ready Node, its view
// shown in w's machine API. It returns the runners that check the cluster
// once at start and run the tracker, and the tracker, for the
// reprovisioning workflow to drain Nodes with. Without --kubeconfig it
// says once in the log that both are off (/ignition answers 404) and
// returns none. leading, when not nil, tells the tracker whether this
// replica leads (see tracker.Config.Leading).
func setupCluster(s *serveSettings, w *web.Server, inv *inventory.Inventory,
	reg prometheus.Registerer, leading func() bool, log *slog.Logger) ([]runner, *tracker.Tracker, error) {
	profiles := ignitionProfiles(inv.Catalog())
	if s.Kubeconfig == "" {
		level := slog.LevelInfo
		if profiles > 0 {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "ignition and tracker off: no kubeconfig, /ignition answers 404",
			"ignition_profiles", profiles)
		return nil, nil, nil
	}
	m, rc, err := newMinter(s, log.With("component", "join"))
	if err != nil {
		return nil, nil, err
	}
	klog.SetSlogLogger(log.With("component", "client-go"))
	r, err := ignition.New(ignition.Config{BaseURL: s.HTTPURL, Credentials: newJoinCredentials(m)})
	if err != nil {
		return nil, nil, fmt.Errorf("http-url: %w", err)
	}
	w.SetIgnition(r, inv)
	preview, err := ignition.NewPreview(ignition.Config{BaseURL: s.HTTPURL})
	if err != nil {
		return nil, nil, fmt.Errorf("http-url: %w", err)
	}
	w.SetIgnitionPreview(preview)
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", s.Kubeconfig, err)
	}
	tr, err := tracker.New(tracker.Config{Client: cs, Metrics: tracker.NewMetrics(reg),
		Leading: leading}, inv, m, log.With("component", "tracker"))
	if err != nil {
		return nil, nil, fmt.Errorf("tracker: %w", err)
	}
	w.SetTracker(clusterTracker{tr})
	log.Info("ignition and tracker on", "path", s.Kubeconfig, "ignition_profiles", profiles,
		"token_ttl", s.TokenTTL)
	return []runner{clusterCheck{m: m, log: log}, tr}, tr, nil
}

// clusterTracker shows the tracker to the reprovisioning workflow, which
// drains Nodes with it, and to the machine API.
type clusterTracker struct{ t *tracker.Tracker }

var (
	_ provision.Drainer = clusterTracker{}
	_ web.Tracker       = clusterTracker{}
)

// Drain drains the Node of machine and deletes its stale Nodes (see
// tracker.Tracker.Drain); the error wraps provision.ErrNoNode when it has
// none.
func (c clusterTracker) Drain(ctx context.Context, machine string) error {
	err := c.t.Drain(ctx, machine)
	if errors.Is(err, tracker.ErrNoNode) {
		return fmt.Errorf("%w: %w", provision.ErrNoNode, err)
	}
	return err
}

// Tracked returns the tracker's view of the machine called name.
func (c clusterTracker) Tracked(name string) (web.Tracked, bool) {
	m, ok := c.t.Machine(name)
	if !ok {
		return web.Tracked{}, false
	}
	return web.Tracked{Node: m.Node, Diagnosis: m.Diagnosis, Deadline: m.Deadline}, true
}

// ignitionProfiles counts the profiles of c with Ignition settings.
func ignitionProfiles(c *inventory.Catalog) int {
	n := 0
	for _, p := range c.Profiles() {
		if p.Ignition != nil {
			n++
		}
	}
	return n
}

// newMinter builds the join.Minter that mints machines' credentials in
// the cluster --kubeconfig names. Machines get the profile's apiServer and
// cluster CA, not the kubeconfig's: rackboot may reach the API server
// another way than its workers do.
func newMinter(s *serveSettings, log *slog.Logger) (*join.Minter, *rest.Config, error) {
	if err := s.checkJoin(); err != nil {
		return nil, nil, err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg, err := join.ConfigFromREST(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", s.Kubeconfig, err)
	}
	cfg.TTL = s.TokenTTL
	cfg.KubeProxyTTL = s.KubeProxyCertTTL
	cfg.Logger = log
	m, err := join.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", s.Kubeconfig, err)
	}
	return m, rc, nil
}

// checkJoin names the first bad setting of the join credentials.
func (s *serveSettings) checkJoin() error {
	if s.TokenTTL <= 0 {
		return fmt.Errorf("token-ttl: %v is not a positive duration", s.TokenTTL)
	}
	if c := s.KubeProxyCertTTL; c < 0 || (c > 0 && c < minKubeProxyCertTTL) {
		return fmt.Errorf("kube-proxy-cert-ttl: %v: want 0 (the signer's default) or at least %v",
			c, minKubeProxyCertTTL)
	}
	return nil
}

// clusterCheck makes sure, once at start, that the cluster answers and
// holds the RBAC bindings kubelet TLS bootstrap needs (join logs "kubelet
// bootstrap rbac in place"), so that a missing right shows in the log
// before a machine boots. A failure is logged, never fatal: network boot
// goes on, and every render tries again.
type clusterCheck struct {
	m   *join.Minter
	log *slog.Logger
}

// Run checks the cluster and returns nil once it has.
func (c clusterCheck) Run(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, clusterCheckTimeout)
	defer cancel()
	if err := c.m.EnsureRBAC(cctx); err != nil && ctx.Err() == nil {
		c.log.Error("checking the cluster; ignition renders fail until it answers", "err", err)
	}
	return nil
}

// minter is what joinCredentials uses of *join.Minter.
type minter interface {
	BootstrapToken(ctx context.Context, machine string, gen uint64) (join.Credentials, error)
	KubeProxy(ctx context.Context, machine string, gen uint64) (join.Credentials, error)
}

var (
	_ minter               = (*join.Minter)(nil)
	_ ignition.Credentials = (*joinCredentials)(nil)
)

// joinCredentials hands a join.Minter's credentials to the Ignition
// renderer. The Minter reuses a generation's bootstrap token by itself,
// but issues a new kube-proxy certificate at every call; joinCredentials
// keeps each machine's last one while at least half of its validity
// remains, so that a retried render leaves no second CSR in the cluster.
type joinCredentials struct {
	m      minter
	now    func() time.Time
	flight singleflight.Group

	// mu guards certs.
	mu sync.Mutex
	// certs holds the last kube-proxy certificate of each machine, by name.
	certs map[string]proxyCert
}

// proxyCert is a kube-proxy certificate issued for one generation.
type proxyCert struct {
	gen     uint64
	cert    ignition.ClientCertificate
	renewAt time.Time // half way through its validity
}

func newJoinCredentials(m minter) *joinCredentials {
	return &joinCredentials{m: m, now: time.Now, certs: map[string]proxyCert{}}
}

// BootstrapToken returns the bootstrap token of machine in generation gen.
func (j *joinCredentials) BootstrapToken(ctx context.Context, machine string,
	gen uint64) (ignition.Token, error) {
	c, err := j.m.BootstrapToken(ctx, machine, gen)
	if err != nil {
		return ignition.Token{}, err
	}
	return ignition.ParseToken(c.Token)
}

// KubeProxyCertificate returns a kube-proxy client certificate for
// machine in generation gen: the one issued before, while it is fresh
// enough, or a new one. Concurrent calls for one machine and generation
// share one issue.
func (j *joinCredentials) KubeProxyCertificate(ctx context.Context, machine string,
	gen uint64) (ignition.ClientCertificate, error) {
	key := machine + "/" + strconv.FormatUint(gen, 10)
	v, err, _ := j.flight.Do(key, func() (any, error) {
		if c, ok := j.cached(machine, gen); ok {
			return c, nil
		}
		return j.issue(ctx, machine, gen)
	})
	if err != nil {
		return ignition.ClientCertificate{}, err
	}
	return v.(ignition.ClientCertificate), nil
}

// cached returns the kept certificate of machine's generation gen if at
// least half of its validity remains.
func (j *joinCredentials) cached(machine string, gen uint64) (ignition.ClientCertificate, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c, ok := j.certs[machine]
	if !ok || c.gen != gen || !j.now().Before(c.renewAt) {
		return ignition.ClientCertificate{}, false
	}
	return c.cert, true
}

// issue has the Minter issue a certificate and keeps it, replacing the
// machine's earlier one.
func (j *joinCredentials) issue(ctx context.Context, machine string,
	gen uint64) (ignition.ClientCertificate, error) {
	issued := j.now()
	c, err := j.m.KubeProxy(ctx, machine, gen)
	if err != nil {
		return ignition.ClientCertificate{}, err
	}
	cert := ignition.ClientCertificate{CertPEM: c.Cert, KeyPEM: c.Key}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.certs[machine] = proxyCert{gen: gen, cert: cert,
		renewAt: issued.Add(c.Expires.Sub(issued) / 2)}
	return cert, nil
}
