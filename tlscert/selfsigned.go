package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rackboot/rackboot/internal/atomicfile"
)

// Validity is how long a made certificate lasts: 825 days, the longest
// Apple's platforms accept for a TLS server certificate, and short enough
// that a leaked key does not live for ever. A certificate past its end is
// replaced at the next start.
const Validity = 825 * 24 * time.Hour

// The files in the folder LoadOrCreate keeps.
const (
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

// LoadOrCreate returns the certificate kept in dir (CertFile, KeyFile)
// and its fingerprint. It makes a new self-signed one, with hosts as its
// names (IP addresses and DNS names; blanks skipped), when dir holds none,
// only half of one, one that has expired, or one that does not name every
// host; created says so. The key is written with mode 0600 in a folder of
// mode 0700. Files that do not parse are an error, not replaced. dir is
// rackboot's own: an operator's certificate goes through Load.
func LoadOrCreate(dir string, hosts []string, log *slog.Logger) (
	tls.Certificate, string, bool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	cert, why, err := loadKept(certPath, keyPath, hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, "", false, err
	}
	if why == "" {
		return cert, Fingerprint(cert.Leaf.Raw), false, nil
	}
	cert, err = create(dir, hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, "", false, err
	}
	log.Info("made a self-signed admin certificate", "path", certPath, "reason", why,
		"fingerprint", Fingerprint(cert.Leaf.Raw))
	return cert, Fingerprint(cert.Leaf.Raw), true, nil
}

// loadKept loads the kept certificate, or says why a new one is needed.
func loadKept(certPath, keyPath string, hosts []string, now time.Time) (
	tls.Certificate, string, error) {
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return tls.Certificate{}, "none yet", nil
	case errors.Is(certErr, fs.ErrNotExist):
		return tls.Certificate{}, "certificate missing beside its key", nil
	case errors.Is(keyErr, fs.ErrNotExist):
		return tls.Certificate{}, "key missing beside its certificate", nil
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf(
			"loading %s: %w (remove both files to make a new one)", certPath, err)
	}
	leaf, err := leafOf(cert)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("%s: %w", certPath, err)
	}
	cert.Leaf = leaf
	if now.After(leaf.NotAfter) {
		return cert, "expired on " + leaf.NotAfter.UTC().Format(time.DateOnly), nil
	}
	for _, h := range hosts {
		if h != "" && leaf.VerifyHostname(h) != nil {
			return cert, "does not name " + h, nil
		}
	}
	return cert, "", nil
}

// create makes a self-signed certificate for hosts, valid from an hour
// before now (for clocks a little behind) for Validity, and keeps it in
// dir.
func create(dir string, hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making a key: %w", err)
	}
	tmpl, err := template(hosts, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making a certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("encoding the key: %w", err)
	}
	if err := keep(dir, der, keyDER); err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parsing the new certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// template describes a server certificate for hosts. It is not a CA
// (browsers refuse a CA certificate as a server's), yet a client may
// trust it directly as its own root.
func template(hosts []string, now time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("making a serial number: %w", err)
	}
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{Organization: []string{"rackboot"},
			CommonName: "rackboot admin"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			t.IPAddresses = append(t.IPAddresses, ip)
		} else if h != "" {
			t.DNSNames = append(t.DNSNames, strings.ToLower(h))
		}
	}
	id := sha256.Sum256(serial.Bytes())
	t.SubjectKeyId = id[:20]
	return t, nil
}

// keep writes the key (mode 0600) and then the certificate into dir
// (mode 0700), each replaced atomically.
func keep(dir string, certDER, keyDER []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := atomicfile.Write(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	return atomicfile.Write(filepath.Join(dir, CertFile), certPEM, 0o644)
}
