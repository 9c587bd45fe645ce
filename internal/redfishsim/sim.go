// Package redfishsim is a small Redfish BMC emulator for rackboot's tests.
// It serves one ComputerSystem (power state, boot override and the Reset
// action) behind a SessionService with a session limit, over TLS on
// 127.0.0.1, and it can misbehave the way real BMCs do (see Fault).
//
// Only the parts of DSP0266 (Redfish Specification) and the
// ComputerSystem and Session schemas that BMC clients use for power and
// boot control are served:
//
//	GET    /redfish
//	GET    /redfish/v1/                                   service root
//	GET    /redfish/v1/SessionService
//	GET    /redfish/v1/SessionService/Sessions
//	POST   /redfish/v1/SessionService/Sessions            log in
//	GET    /redfish/v1/SessionService/Sessions/{id}
//	DELETE /redfish/v1/SessionService/Sessions/{id}       log out
//	GET    /redfish/v1/Systems
//	GET    /redfish/v1/Systems/1
//	PATCH  /redfish/v1/Systems/1                          {"Boot": {...}}
//	POST   /redfish/v1/Systems/1/Actions/ComputerSystem.Reset
//
// Requests other than the service root need a session token
// (X-Auth-Token) or HTTP Basic credentials.
//
// Usage in a test:
//
//	sim := redfishsim.New(redfishsim.Config{User: "admin", Password: pw})
//	t.Cleanup(sim.Close)
//	client := ... // trust sim.CertPool(), dial sim.Host():sim.Port()
//	sim.SetFault(redfishsim.FaultForgetBoot, true)
//
// Config.OnPower lets the Reset action drive a real machine: the lab
// starts and stops a QEMU guest with it (lab/redfish_test.go).
package redfishsim

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
)

// Fault is a way the emulator misbehaves; switch it with SetFault.
type Fault int

// Faults real BMCs show.
const (
	// FaultHang makes every request hang until the client gives up.
	FaultHang Fault = iota + 1
	// FaultHangActions lets logins and reads through but hangs PATCH
	// and the Reset action.
	FaultHangActions
	// FaultUnauthorized answers 401 to every login and authenticated
	// request. The login answer echoes the password tried, as careless
	// BMCs do, so that tests can prove clients keep it out of errors.
	FaultUnauthorized
	// FaultSessionsFull answers 503 to logins, as a BMC whose session
	// table is full does.
	FaultSessionsFull
	// FaultForgetBoot answers 204 to a Boot PATCH but keeps nothing.
	FaultForgetBoot
	// FaultIgnoreGraceful accepts GracefulShutdown, but the system never
	// powers off (an OS that ignores the ACPI power button).
	FaultIgnoreGraceful
)

// Power states of ComputerSystem.PowerState.
const (
	PowerOn  = "On"
	PowerOff = "Off"
)

// DefaultMaxSessions is Config.MaxSessions when zero.
const DefaultMaxSessions = 4

// Config sets up a Server.
type Config struct {
	// User and Password are the one account the BMC knows.
	User, Password string
	// MaxSessions is the size of the session table; zero means
	// DefaultMaxSessions.
	MaxSessions int
	// Addr is the "ip:port" to listen on (port 0 picks a free one), for
	// an emulator other network namespaces reach; the certificate then
	// names that IP and 127.0.0.1. Empty means a free port of 127.0.0.1
	// with httptest's certificate. New panics if it cannot listen, as
	// httptest does.
	Addr string
	// Power is the initial PowerState, PowerOn or PowerOff; empty means
	// PowerOff.
	Power string
	// OnPower, if set, is called with PowerOn each time the system starts
	// and with PowerOff each time it stops, so that a test can start and
	// stop a real guest (a restart calls it twice). It runs outside the
	// emulator's lock, before the Reset action answers; an error makes
	// the action answer 500. Nil means the power state lives only in
	// memory.
	OnPower func(state string) error
}

// Override is the system's boot override, as the Boot object names it.
type Override struct {
	Enabled string // BootSourceOverrideEnabled: Disabled, Once, Continuous
	Target  string // BootSourceOverrideTarget: None, Pxe, Hdd, ...
	Mode    string // BootSourceOverrideMode: UEFI, Legacy
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	cfg  Config
	srv  *httptest.Server
	quit chan struct{} // closed by Close: hanging requests end

	mu sync.Mutex
	// guarded by mu
	faults   map[Fault]bool
	power    string
	boot     Override
	sessions map[string]string // token -> session id
	lastID   int
	logins   int
	resets   []string
	boots    []string
	changes  []string // power transitions not yet handed to cfg.OnPower
}

// New starts an emulator on a free port of 127.0.0.1, or on Config.Addr,
// with a certificate for its address (see CertPool). Close it when done.
func New(cfg Config) *Server {
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Power == "" {
		cfg.Power = PowerOff
	}
	s := &Server{
		cfg:      cfg,
		quit:     make(chan struct{}),
		faults:   make(map[Fault]bool),
		power:    cfg.Power,
		boot:     Override{Enabled: "Disabled", Target: "None", Mode: "UEFI"},
		sessions: make(map[string]string),
	}
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS refusals are expected
	if cfg.Addr != "" {
		listenAt(s.srv, cfg.Addr)
	}
	s.srv.StartTLS()
	return s
}

// Close stops the emulator, ending requests that hang.
func (s *Server) Close() {
	close(s.quit)
	s.srv.Close()
}

// Host is the address the emulator listens on, "127.0.0.1" unless
// Config.Addr names another.
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	return host
}

// Port is the TCP port the emulator listens on.
func (s *Server) Port() int {
	_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	return n
}

// URL is the emulator's base URL, "https://<host>:<port>".
func (s *Server) URL() string { return s.srv.URL }

// CertPool holds the emulator's certificate, for clients to trust.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.srv.Certificate())
	return pool
}

// CertificatePEM is the emulator's certificate in PEM, as a ca_file.
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// SetFault switches f on or off.
func (s *Server) SetFault(f Fault, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f] = on
}

// Power is the system's PowerState.
func (s *Server) Power() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.power
}

// SetPower sets the system's PowerState without booting it.
func (s *Server) SetPower(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.power = p
}

// Override is the system's boot override as it stands.
func (s *Server) Override() Override {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boot
}

// Resets lists the ResetType of every Reset action accepted, in order.
func (s *Server) Resets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.resets)
}

// Boots lists what each start of the system booted from, in order: the
// override target and mode ("Pxe UEFI") or "default".
func (s *Server) Boots() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.boots)
}

// OpenSessions is the number of sessions logged in and not logged out.
func (s *Server) OpenSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Logins is the number of successful logins so far.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

func (s *Server) fault(f Fault) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[f]
}

// startLocked powers the system on and boots it once: a Once override is
// used up, as DSP2046 describes for BootSourceOverrideEnabled.
func (s *Server) startLocked() {
	if s.power == PowerOn {
		s.changes = append(s.changes, PowerOff)
	}
	s.changes = append(s.changes, PowerOn)
	s.power = PowerOn
	if s.boot.Enabled == "Disabled" || s.boot.Target == "None" {
		s.boots = append(s.boots, "default")
		return
	}
	s.boots = append(s.boots, s.boot.Target+" "+s.boot.Mode)
	if s.boot.Enabled == "Once" {
		s.boot.Enabled = "Disabled"
	}
}
