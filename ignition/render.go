package ignition

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Config configures a Renderer.
type Config struct {
	// BaseURL is rackboot's public HTTP base URL as booted machines reach
	// it, such as "http://192.0.2.10:8080". Downloads point at
	// <BaseURL>/assets/<asset>; plain http is enough because Ignition
	// checks each download's sha512.
	BaseURL string
	// Credentials mints join credentials. Nil means no cluster is
	// configured: Render then fails with ErrNoCluster.
	Credentials Credentials
	// Now is the clock certificates are checked against; nil means
	// time.Now.
	Now func() time.Time
}

// Renderer renders per-machine Ignition configs. It is safe for
// concurrent use.
type Renderer struct {
	base  string
	creds Credentials
	now   func() time.Time
	// preview renders with placeholder credentials (NewPreview), which
	// no cluster signed: their certificate is not checked.
	preview bool
}

// New checks cfg and returns a Renderer.
func New(cfg Config) (*Renderer, error) {
	base, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Renderer{base: base, creds: cfg.Credentials, now: now}, nil
}

func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("base url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("base url %q: scheme must be http or https", raw)
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("base url %q: want scheme://host[:port][/path]", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Render returns the Ignition config of machine m, which boots profile p,
// for provisioning generation gen: encoded, validated, complete. It fails
// with ErrNoCluster when the Renderer has no Credentials, and with a
// descriptive error (never holding a secret) when any input or the result
// is invalid; then it returns no bytes.
func (r *Renderer) Render(ctx context.Context, m inventory.Machine,
	p inventory.Profile, gen uint64) ([]byte, error) {
	if p.Ignition == nil {
		return nil, fmt.Errorf("profile %s has no ignition settings", p.Name)
	}
	if r.creds == nil {
		return nil, ErrNoCluster
	}
	w, err := r.gather(ctx, m, p.Ignition, gen)
	if err != nil {
		return nil, err
	}
	snippet, err := translateButane(p.Ignition)
	if err != nil {
		return nil, err
	}
	return assemble(w.config(), p.Ignition.Spec(), snippet)
}

// gather collects and checks everything the config of m is made of.
func (r *Renderer) gather(ctx context.Context, m inventory.Machine,
	s *inventory.IgnitionSettings, gen uint64) (*worker, error) {
	labels, err := nodeLabels(m, s)
	if err != nil {
		return nil, err
	}
	ca, roots, err := readCA(s.ClusterCAFile)
	if err != nil {
		return nil, err
	}
	token, err := r.creds.BootstrapToken(ctx, m.Name, gen)
	if err != nil {
		return nil, fmt.Errorf("getting the bootstrap token of %s: %w", m.Name, err)
	}
	if err := token.check(); err != nil {
		return nil, err
	}
	w := &worker{name: m.Name, nodeIP: m.Address, labels: labels, s: s,
		layout: layouts[s.OS], base: r.base, ca: ca, token: token}
	if s.ProxyMode() == inventory.KubeProxyDaemonSet {
		return w, nil
	}
	cert, err := r.creds.KubeProxyCertificate(ctx, m.Name, gen)
	if err != nil {
		return nil, fmt.Errorf("getting the kube-proxy certificate of %s: %w", m.Name, err)
	}
	if !r.preview {
		if err := cert.check(KubeProxyUser, roots, r.now()); err != nil {
			return nil, err
		}
	}
	w.proxy = &cert
	return w, nil
}

// nodeLabels merges the profile's extra labels with the machine's own
// (which win) and checks each.
func nodeLabels(m inventory.Machine, s *inventory.IgnitionSettings) (map[string]string, error) {
	out := make(map[string]string, len(s.NodeLabels)+len(m.Labels))
	for k, v := range s.NodeLabels {
		out[k] = v
	}
	for k, v := range m.Labels {
		if err := inventory.CheckNodeLabel(k, v); err != nil {
			return nil, fmt.Errorf("machine %s: labels[%s]: %w", m.Name, k, err)
		}
		out[k] = v
	}
	return out, nil
}

// readCA reads the cluster CA file: one or more PEM certificates and
// nothing else.
func readCA(path string) ([]byte, *x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading cluster CA: %w", err)
	}
	pool := x509.NewCertPool()
	rest, n := data, 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if block.Type != "CERTIFICATE" || err != nil {
			return nil, nil, fmt.Errorf("cluster CA %s: block %d is not a certificate", path, n+1)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, nil, fmt.Errorf("cluster CA %s: %w", path, errNotPEM)
	}
	return data, pool, nil
}

var errNotPEM = errors.New("not a file of PEM certificates")
