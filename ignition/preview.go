package ignition

import "context"

// NewPreview returns a Renderer that mints nothing: every config it
// renders carries a placeholder bootstrap token and a placeholder
// kube-proxy certificate in place of real ones, so that an operator can
// see what a machine would get without a token being created in the
// cluster. Its configs are for showing, never for booting. cfg.Credentials
// is ignored.
func NewPreview(cfg Config) (*Renderer, error) {
	cfg.Credentials = placeholders{}
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r.preview = true
	return r, nil
}

// Placeholders of a preview. The token has the shape of a real one, so the
// config renders as it would; nothing in the cluster knows it.
var (
	placeholderToken = Token{ID: "000000", Secret: "0000000000000000"}
	placeholderCert  = ClientCertificate{
		CertPEM: []byte("-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n"),
		KeyPEM:  []byte("-----BEGIN PRIVATE KEY-----\nplaceholder\n-----END PRIVATE KEY-----\n"),
	}
)

// placeholders are a preview's Credentials.
type placeholders struct{}

func (placeholders) BootstrapToken(ctx context.Context, _ string, _ uint64) (Token, error) {
	return placeholderToken, ctx.Err()
}

func (placeholders) KubeProxyCertificate(ctx context.Context, _ string, _ uint64) (ClientCertificate, error) {
	return placeholderCert, ctx.Err()
}
