// Package tlscert provides the admin listener's TLS certificate: the one
// an operator supplies (Load), or one rackboot makes for itself and keeps
// in its data folder (LoadOrCreate):
//
//	cert, fp, created, err := tlscert.LoadOrCreate(
//		filepath.Join(dataDir, "admin-tls"),
//		[]string{"localhost", "127.0.0.1", "::1", serverIP, hostname}, log)
//	log.Info("admin certificate", "fingerprint", fp, "created", created)
//
// A made certificate is self-signed, ECDSA P-256, valid for Validity.
// Clients trust it by taking cert.pem as their CA file (rackboot's CLI
// does so by default) or by checking its fingerprint.
package tlscert

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Fingerprint returns "sha256:" and the SHA-256 of der as colon-separated
// upper-case hex pairs, the form browsers and openssl show.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	pairs := make([]string, len(sum))
	for i, b := range sum {
		pairs[i] = fmt.Sprintf("%02X", b)
	}
	return "sha256:" + strings.Join(pairs, ":")
}

// Load reads an operator's certificate chain and key (PEM) and returns
// them with the fingerprint of the first (leaf) certificate. A key that
// does not match or an expired certificate is an error naming the file.
func Load(certFile, keyFile string) (tls.Certificate, string, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("loading certificate %s and key %s: %w",
			certFile, keyFile, err)
	}
	leaf, err := leafOf(cert)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("certificate %s: %w", certFile, err)
	}
	if now := time.Now(); now.After(leaf.NotAfter) {
		return tls.Certificate{}, "", fmt.Errorf("certificate %s expired on %s",
			certFile, leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return cert, Fingerprint(leaf.Raw), nil
}

// leafOf returns cert's parsed first certificate.
func leafOf(cert tls.Certificate) (*x509.Certificate, error) {
	if cert.Leaf != nil {
		return cert.Leaf, nil
	}
	if len(cert.Certificate) == 0 {
		return nil, errors.New("no certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	return leaf, nil
}
