package join

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Credentials is what a machine needs to talk to the API server as one
// identity: where the server is, how to trust it, and either a bearer
// token or a client certificate.
//
// Token and Key are secrets. Credentials prints and logs with both
// redacted (String, GoString, LogValue); write them only into the
// machine's configuration.
type Credentials struct {
	// Server is the API server's URL, as machines reach it.
	Server string
	// CA is the PEM bundle machines trust the API server with.
	CA []byte
	// Token is a bootstrap token, "<id>.<secret>"; empty for a certificate.
	Token string
	// Cert and Key are a PEM client certificate and its private key; empty
	// for a token.
	Cert, Key []byte
	// Expires is when Token or Cert stops being accepted.
	Expires time.Time
}

// TokenID returns the public half of Token, which names its Secret
// (bootstrap-token-<id>) and is safe to log; "" when there is no token.
func (c Credentials) TokenID() string {
	id, _, _ := strings.Cut(c.Token, ".")
	return id
}

// Kubeconfig renders c as a kubeconfig file for user, with one cluster,
// one user and one current context.
func (c Credentials) Kubeconfig(user string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubernetes"] = &clientcmdapi.Cluster{
		Server:                   c.Server,
		CertificateAuthorityData: c.CA,
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		Token:                 c.Token,
		ClientCertificateData: c.Cert,
		ClientKeyData:         c.Key,
	}
	cfg.Contexts["default"] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: user}
	cfg.CurrentContext = "default"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("rendering kubeconfig for %s: %w", user, err)
	}
	return b, nil
}

// String describes c without its secrets.
func (c Credentials) String() string {
	kind := "certificate"
	if c.Token != "" {
		kind = "token " + c.TokenID() + ".<redacted>"
	}
	return fmt.Sprintf("join.Credentials{%s for %s, expires %s}",
		kind, c.Server, c.Expires.UTC().Format(time.RFC3339))
}

// GoString is String, so that %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

// LogValue logs c without its secrets.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("server", c.Server),
		slog.String("token_id", c.TokenID()),
		slog.Time("expires", c.Expires),
	)
}
