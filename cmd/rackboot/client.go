package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rackboot/rackboot/auth"
	"github.com/rackboot/rackboot/tlscert"
)

// Where the CLI looks for a server, a token and a certificate when told
// nothing.
const (
	defaultServer  = "https://127.0.0.1:8443"
	defaultDataDir = "/var/lib/rackboot"
	// adminTokenFile is the file in the data directory where rackboot
	// serve writes its first operator token.
	adminTokenFile = "admin.token"
	// adminTLSDir is the folder in the data directory holding the
	// self-signed admin certificate.
	adminTLSDir = "admin-tls"
	// tokenEnv holds the token itself, not a file name.
	tokenEnv = "RACKBOOT_TOKEN"
)

// clientSettings are the flags of every command that talks to a running
// rackboot's admin listener.
type clientSettings struct {
	Server    string
	TokenFile string
	CAFile    string
	DataDir   string
}

func (c *clientSettings) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Server, "server", defaultServer,
		"base `URL` of a running rackboot's admin listener")
	fs.StringVar(&c.TokenFile, "token-file", "", "`file` holding an API token (default <data-dir>/"+
		adminTokenFile+"; "+tokenEnv+" may hold the token itself)")
	fs.StringVar(&c.CAFile, "ca-file", "", "PEM `file` of the certificate to trust (default "+
		"<data-dir>/"+adminTLSDir+"/"+tlscert.CertFile+" when it exists, else the system's roots)")
	fs.StringVar(&c.DataDir, "data-dir", defaultDataDir,
		"rackboot's data `directory`, where those defaults are")
}

// apiClient calls the JSON API of a running rackboot with a token.
type apiClient struct {
	base  string // the server's URL without a final slash
	token string
	http  *http.Client
}

// client checks the settings and returns a client; errors say what to
// fix and never carry the token.
func (c *clientSettings) client(getenv func(string) string) (*apiClient, error) {
	base, err := serverURL(c.Server)
	if err != nil {
		return nil, err
	}
	tok, err := c.token(getenv)
	if err != nil {
		return nil, err
	}
	roots, err := c.roots()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &apiClient{base: base, token: tok, http: &http.Client{Transport: tr}}, nil
}

// serverURL checks the --server URL. Plain http is refused but on
// loopback: the token would cross the network in clear.
func serverURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server: %q is not a URL such as %s", s, defaultServer)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return "", fmt.Errorf("server: %s: refusing to send a token over plain http; use https", s)
		}
	default:
		return "", fmt.Errorf("server: %q is not an https URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// loopback reports whether host names this machine's loopback.
func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// token finds the token: a --token-file given on the command line, else
// RACKBOOT_TOKEN, else a --token-file from RACKBOOT_TOKEN_FILE, else the
// data directory's admin.token when it can be read.
func (c *clientSettings) token(getenv func(string) string) (string, error) {
	fromCmdline := c.TokenFile != "" && c.TokenFile != getenv(envName("token-file"))
	if env := strings.TrimSpace(getenv(tokenEnv)); env != "" && !fromCmdline {
		if !auth.WellFormed(env) {
			return "", fmt.Errorf("%s does not hold a rackboot token (%s)", tokenEnv, tokenShape)
		}
		return env, nil
	}
	if c.TokenFile != "" {
		return readToken(c.TokenFile)
	}
	def := filepath.Join(c.DataDir, adminTokenFile)
	if tok, err := readToken(def); err == nil {
		return tok, nil
	}
	return "", fmt.Errorf("no API token: pass --token-file or set %s; an operator makes one on "+
		"the server with \"rackboot token create --name NAME --role viewer|operator\" "+
		"(rackboot serve writes the first one to <data-dir>/%s; none is readable at %s: "+
		"pass --data-dir if the server uses another)", tokenEnv, adminTokenFile, def)
}

// tokenShape says what a token looks like, for errors.
const tokenShape = "rbt_ and 43 characters"

// readToken reads a token from the file path.
func readToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading token file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if !auth.WellFormed(tok) {
		return "", fmt.Errorf("token file %s does not hold a rackboot token (%s)", path, tokenShape)
	}
	return tok, nil
}

// roots returns the certificates to trust: the --ca-file, else the data
// directory's self-signed admin certificate when it exists, else nil for
// the system's roots.
func (c *clientSettings) roots() (*x509.CertPool, error) {
	path := c.CAFile
	if path == "" {
		path = filepath.Join(c.DataDir, adminTLSDir, tlscert.CertFile)
		if _, err := os.Stat(path); err != nil {
			return nil, nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca-file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// apiTimeout bounds one ordinary API call of the CLI.
const apiTimeout = 30 * time.Second

// call sends body (if not nil) as JSON to the API path, such as
// "/api/v1/reprovision", and decodes a 2xx answer into out, or returns
// the answer's error. It waits apiTimeout at most, unless ctx ends
// sooner.
func (a *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	return a.callWithin(ctx, apiTimeout, method, path, body, out)
}

// callWithin is call waiting timeout at most.
func (a *apiClient) callWithin(ctx context.Context, timeout time.Duration, method, path string,
	body, out any) error {
	raw, err := a.fetch(ctx, timeout, method, path, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding answer of %s: %w", a.base+path, err)
	}
	return nil
}

// fetch is call returning the answer's body as it came.
func (a *apiClient) fetch(ctx context.Context, timeout time.Duration, method, path string,
	body any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := a.request(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking %s: %w%s", req.URL, err, tlsHint(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading answer of %s: %w", req.URL, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, answerError(method, req.URL.String(), resp.Status, raw)
	}
	return raw, nil
}

// request builds a request with the token and, when body is not nil,
// body as JSON.
func (a *apiClient) request(ctx context.Context, method, path string, body any) (
	*http.Request, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// answerError turns an error answer into an error: its message and code
// when it is rackboot's JSON, else the status and the start of the body.
func answerError(method, url, status string, raw []byte) error {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		if e.Code != "" {
			return fmt.Errorf("%s %s: %s (%s)", method, url, e.Error, e.Code)
		}
		return fmt.Errorf("%s %s: %s", method, url, e.Error)
	}
	text := strings.TrimSpace(string(raw))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return fmt.Errorf("%s %s: %s: %s", method, url, status, text)
}

// tlsHint says what to do when the server's certificate is not trusted.
func tlsHint(err error) string {
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknown) || errors.As(err, &verify) {
		return " (pass --ca-file with the server's certificate, " +
			"<data-dir>/" + adminTLSDir + "/" + tlscert.CertFile + " on the server)"
	}
	return ""
}
