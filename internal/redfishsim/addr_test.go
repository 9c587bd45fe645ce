package redfishsim

import (
	"crypto/tls"
	"net/http"
	"testing"
)

// TestAddr serves on another loopback address with a certificate a client
// verifies for that address.
func TestAddr(t *testing.T) {
	sim := New(Config{User: user, Password: pass, Addr: "127.0.0.2:0"})
	t.Cleanup(sim.Close)
	if sim.Host() != "127.0.0.2" || sim.Port() == 0 {
		t.Fatalf("Host, Port = %s, %d, want 127.0.0.2 and a port", sim.Host(), sim.Port())
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: sim.CertPool()}}}
	resp, err := client.Get(sim.URL() + "/redfish/v1")
	if err != nil {
		t.Fatalf("GET /redfish/v1 verifying the certificate for %s: %v", sim.Host(), err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /redfish/v1 = %s, want 200", resp.Status)
	}
}

// TestAddrInvalid panics, as httptest does, when the address is no IP.
func TestAddrInvalid(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New with Addr localhost:0 did not panic")
		}
	}()
	New(Config{Addr: "localhost:0"}).Close()
}
