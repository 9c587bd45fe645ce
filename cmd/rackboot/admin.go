package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rackboot/rackboot/auth"
	"github.com/rackboot/rackboot/metrics"
	"github.com/rackboot/rackboot/tlscert"
	"github.com/rackboot/rackboot/web"
	"github.com/rackboot/rackboot/web/ui"
)

// tokenFiles says where the admin listener's tokens are.
func (s *serveSettings) tokenFiles() auth.Files {
	f := auth.Files{Tokens: s.TokensFile, Env: s.TokensEnv,
		Bootstrap: filepath.Join(s.DataDir, adminTokenFile)}
	if f.Tokens == "" {
		f.Tokens = filepath.Join(s.DataDir, tokensFileName)
	}
	return f
}

// newGuard loads the API tokens, making the first operator token when
// there is none.
func (s *serveSettings) newGuard(log *slog.Logger) (*auth.Guard, error) {
	ring, err := auth.Load(s.tokenFiles(), log)
	if err != nil {
		return nil, fmt.Errorf("tokens-file: %w", err)
	}
	return auth.NewGuard(auth.Config{Keyring: ring, Log: log})
}

// reloadTokens re-reads the tokens for SIGHUP. A file that fails to load
// leaves the tokens in force alone; one with no token left revokes them
// all (auth.Reload warns), and a reload never makes a token.
func (s *serveSettings) reloadTokens(g *auth.Guard, log *slog.Logger) {
	f := s.tokenFiles()
	ring, err := auth.Reload(f, log)
	if err != nil {
		log.Error("tokens reload failed; keeping the ones in force", "path", f.Tokens, "err", err)
		return
	}
	g.SetKeyring(ring)
	log.Info("tokens reloaded", "path", f.Tokens, "tokens", ring.Len())
}

// adminTLS loads the operator's certificate or the self-signed one kept in
// --data-dir, making it on first start, and logs its fingerprint so that
// clients can check it.
func (s *serveSettings) adminTLS(log *slog.Logger) (*tls.Config, error) {
	var (
		cert tls.Certificate
		fp   string
		err  error
	)
	switch {
	case s.AdminCert != "" && s.AdminKey != "":
		cert, fp, err = tlscert.Load(s.AdminCert, s.AdminKey)
	case s.AdminCert != "" || s.AdminKey != "":
		return nil, errors.New("admin-cert and admin-key: set both or neither")
	default:
		cert, fp, _, err = tlscert.LoadOrCreate(filepath.Join(s.DataDir, adminTLSDir), s.adminHosts(), log)
	}
	if err != nil {
		return nil, fmt.Errorf("admin-cert: %w", err)
	}
	log.Info("admin certificate", "fingerprint", fp, "addr", s.AdminAddr)
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// adminHosts are the names a self-signed admin certificate carries: the
// loopback names, the server address, the admin address's host if it
// names one, and the machine's host name.
func (s *serveSettings) adminHosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1", s.ServerIP.String()}
	if h, _, err := net.SplitHostPort(s.AdminAddr); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	return hosts
}

// newAdmin builds the admin listener over w.
func (s *serveSettings) newAdmin(w *web.Server, g *auth.Guard, reg prometheus.Gatherer,
	status func() web.Status, log *slog.Logger) (*web.Admin, error) {
	tlsCfg, err := s.adminTLS(log)
	if err != nil {
		return nil, err
	}
	a, err := web.NewAdmin(w, web.AdminConfig{Addr: s.AdminAddr, TLS: tlsCfg, Guard: g,
		UI: ui.Handler(), Metrics: metrics.Handler(reg, log), Status: status})
	if err != nil {
		return nil, fmt.Errorf("admin-addr: %w", err)
	}
	return a, nil
}
