package join

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// DefaultTTL is how long a bootstrap token stays valid unless Config says
// otherwise: long enough for a machine to boot and start its kubelet, short
// enough that a leaked Ignition config soon stops being a way in.
const DefaultTTL = time.Hour

// clientTimeout bounds each API request of a Minter built by ConfigFromREST.
const clientTimeout = 30 * time.Second

// Config configures a Minter.
type Config struct {
	// Client talks to the cluster. Its identity needs the rights listed in
	// the package documentation.
	Client kubernetes.Interface
	// Server is the API server URL machines use (https://host:port). It may
	// differ from the address Client uses.
	Server string
	// CA is the PEM cluster CA machines verify Server with.
	CA []byte
	// TTL is how long a bootstrap token is valid; zero means DefaultTTL.
	TTL time.Duration
	// KubeProxyTTL is the validity kube-proxy certificates ask the signer
	// for (at least 10 minutes); zero means the signer's default, which is
	// the controller manager's --cluster-signing-duration (a year unless
	// set).
	KubeProxyTTL time.Duration
	// Logger receives one Info line per token minted or revoked and per
	// certificate issued; nil means silent.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// ConfigFromREST returns a Config whose Client, Server and CA come from rc,
// the configuration rackboot itself reaches the cluster with. Set Server
// and CA afterwards when machines reach the API server another way.
func ConfigFromREST(rc *rest.Config) (Config, error) {
	rc = rest.CopyConfig(rc)
	if rc.Timeout == 0 {
		rc.Timeout = clientTimeout
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return Config{}, fmt.Errorf("building kubernetes client: %w", err)
	}
	ca := rc.CAData
	if len(ca) == 0 && rc.CAFile != "" {
		if ca, err = os.ReadFile(rc.CAFile); err != nil {
			return Config{}, fmt.Errorf("reading cluster ca: %w", err)
		}
	}
	return Config{Client: cs, Server: rc.Host, CA: ca}, nil
}

// Minter mints join credentials for machines. It is safe for concurrent
// use; calls for the same cluster are serialized.
type Minter struct {
	client  kubernetes.Interface
	server  string
	ca      []byte
	ttl     time.Duration
	certTTL time.Duration
	log     *slog.Logger
	now     func() time.Time

	// mu serializes minting, so two calls for one machine and generation
	// agree on one token.
	mu sync.Mutex
	// rbacReady is set once the bootstrap RBAC bindings were seen in place.
	rbacReady bool
}

// New returns a Minter for c, checking that c is complete.
func New(c Config) (*Minter, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	m := &Minter{client: c.Client, server: c.Server, ca: c.CA, ttl: c.TTL,
		certTTL: c.KubeProxyTTL, log: c.Logger, now: c.Now}
	if m.ttl == 0 {
		m.ttl = DefaultTTL
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// validate names the first missing or malformed field of c.
func (c Config) validate() error {
	if c.Client == nil {
		return errors.New("join config: client: missing")
	}
	if u, err := url.Parse(c.Server); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("join config: server: %q is not an https URL", c.Server)
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(c.CA) {
		return errors.New("join config: ca: no PEM certificate")
	}
	if c.TTL < 0 {
		return fmt.Errorf("join config: ttl: %v is negative", c.TTL)
	}
	if c.KubeProxyTTL != 0 && c.KubeProxyTTL < 10*time.Minute {
		return fmt.Errorf("join config: kube-proxy ttl: %v is under 10m", c.KubeProxyTTL)
	}
	return nil
}

// BootstrapToken returns the bootstrap token machine uses to join the
// cluster in provisioning generation gen, minting one when it has none.
//
// Calls for the same machine and generation return the same token while at
// least half of its TTL remains; after that, or for a new generation, a
// new token is minted. Tokens of the machine's earlier generations are
// revoked. The first call also makes sure the RBAC bindings for kubelet TLS
// bootstrap exist (see EnsureRBAC).
func (m *Minter) BootstrapToken(ctx context.Context, machine string, gen uint64) (Credentials, error) {
	tk, err := m.bootstrapToken(ctx, machine, gen)
	if err != nil {
		return Credentials{}, fmt.Errorf(
			"minting bootstrap token for machine %s generation %d: %w", machine, gen, err)
	}
	return Credentials{Server: m.server, CA: m.ca, Token: tk.String(), Expires: tk.expires}, nil
}

func (m *Minter) bootstrapToken(ctx context.Context, machine string, gen uint64) (token, error) {
	if err := checkMachine(machine, gen); err != nil {
		return token{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensureRBACLocked(ctx); err != nil {
		return token{}, err
	}
	secrets, err := m.secretsOf(ctx, machine)
	if err != nil {
		return token{}, err
	}
	m.revokeOlder(ctx, machine, secrets, gen)
	if tk, ok := m.reusable(secrets, gen); ok {
		return tk, nil
	}
	return m.create(ctx, machine, gen)
}

// checkMachine refuses a name that cannot be a label value, and generation
// 0, which inventory never hands out.
func checkMachine(machine string, gen uint64) error {
	if errs := validation.IsValidLabelValue(machine); machine == "" || len(errs) > 0 {
		return fmt.Errorf("machine name %q: not a valid label value", machine)
	}
	if gen == 0 {
		return errors.New("generation 0: generations start at 1")
	}
	return nil
}

// secretsOf lists the bootstrap token Secrets rackboot made for machine.
func (m *Minter) secretsOf(ctx context.Context, machine string) ([]corev1.Secret, error) {
	list, err := m.client.CoreV1().Secrets(tokenNamespace).List(ctx, metav1.ListOptions{
		LabelSelector: LabelMachine + "=" + machine,
		FieldSelector: "type=" + string(corev1.SecretTypeBootstrapToken),
	})
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return list.Items, nil
}

// reusable returns the generation-gen token in secrets that lives longest,
// if at least half of the TTL remains on it.
func (m *Minter) reusable(secrets []corev1.Secret, gen uint64) (token, bool) {
	var best token
	for i := range secrets {
		tk, err := tokenFrom(&secrets[i])
		if err != nil || generationOf(&secrets[i]) != gen {
			continue
		}
		if tk.expires.After(best.expires) {
			best = tk
		}
	}
	return best, best.expires.After(m.now().Add(m.ttl / 2))
}

// create mints a token for machine's generation gen, trying another id if
// the first is taken.
func (m *Minter) create(ctx context.Context, machine string, gen uint64) (token, error) {
	expires := m.now().Add(m.ttl).UTC().Truncate(time.Second)
	for range 3 {
		tk, err := newToken(expires)
		if err != nil {
			return token{}, err
		}
		_, err = m.client.CoreV1().Secrets(tokenNamespace).
			Create(ctx, secretFor(tk, machine, gen), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return token{}, fmt.Errorf("creating secret %s: %w", tk.secretName(), err)
		}
		m.log.Info("bootstrap token minted", "machine", machine, "generation", gen,
			"token_id", tk.id, "expires", expires)
		return tk, nil
	}
	return token{}, errors.New("creating secret: three random token ids were all taken")
}

// Revoke deletes every bootstrap token rackboot minted for machine, for
// example once its Node is Ready. A machine with no token is not an error.
func (m *Minter) Revoke(ctx context.Context, machine string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	secrets, err := m.secretsOf(ctx, machine)
	if err == nil {
		err = m.deleteAll(ctx, machine, secrets)
	}
	if err != nil {
		return fmt.Errorf("revoking tokens of machine %s: %w", machine, err)
	}
	return nil
}

// revokeOlder deletes the tokens of generations before gen. It only logs
// failures: the token cleaner removes them when they expire anyway.
func (m *Minter) revokeOlder(ctx context.Context, machine string, secrets []corev1.Secret,
	gen uint64) {
	var old []corev1.Secret
	for _, s := range secrets {
		if generationOf(&s) < gen {
			old = append(old, s)
		}
	}
	if len(old) == 0 {
		return
	}
	if err := m.deleteAll(ctx, machine, old); err != nil {
		m.log.Warn("revoking tokens of earlier generations", "err", err)
	}
}

// deleteAll deletes secrets, ignoring ones already gone.
func (m *Minter) deleteAll(ctx context.Context, machine string, secrets []corev1.Secret) error {
	var errs []error
	for _, s := range secrets {
		err := m.client.CoreV1().Secrets(tokenNamespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting secret %s: %w", s.Name, err))
			continue
		}
		m.log.Info("bootstrap token revoked", "machine", machine,
			"generation", generationOf(&s), "token_id", strings.TrimPrefix(s.Name, tokenPrefix))
	}
	return errors.Join(errs...)
}
