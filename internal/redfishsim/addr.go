package redfishsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"time"
)

// listenAt moves srv, not started yet, to addr with a self-signed
// certificate for addr's IP and 127.0.0.1. It panics on failure, as
// httptest does when it cannot listen.
func listenAt(srv *httptest.Server, addr string) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		panic(fmt.Sprintf("redfishsim: Addr %q: %v", addr, err))
	}
	ip := net.ParseIP(host)
	if ip == nil {
		panic(fmt.Sprintf("redfishsim: Addr %q: not an IP address", addr))
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		panic(fmt.Sprintf("redfishsim: listening on %s: %v", addr, err))
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(ip, net.IPv4(127, 0, 0, 1))}}
}

// selfSigned returns a certificate for ips, signed by its own key, valid
// for a day.
func selfSigned(ips ...net.IP) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("redfishsim: generating a key: %v", err))
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "redfishsim"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(fmt.Sprintf("redfishsim: creating a certificate: %v", err))
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
