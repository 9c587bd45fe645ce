package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/ipxe"
)

// Timeouts of the http.Server. Asset and loader responses extend their
// own write deadline to assetWriteTimeout: a large initrd over a slow
// firmware stack takes minutes.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	assetWriteTimeout = time.Hour
)

// Inventory is what the server reads and records: the declared catalog
// and the runtime store. *inventory.Inventory implements it. Every method
// may be called from many requests at once.
type Inventory interface {
	// Lookup returns the declared machine owning mac and its profile.
	Lookup(mac string) (inventory.Machine, inventory.Profile, bool)
	// Catalog returns the catalog in force.
	Catalog() *inventory.Catalog
	// Record appends e to the timeline of mac.
	Record(mac string, e inventory.Event) (inventory.Event, error)
	// RecordByIP records e for the MAC last seen with ip; it returns an
	// error wrapping inventory.ErrNotFound when no MAC is known.
	RecordByIP(ip netip.Addr, e inventory.Event) (inventory.Event, error)
	// Status returns the runtime status of mac, or inventory.ErrNotFound.
	Status(mac string) (inventory.Status, error)
	// Statuses returns the status of every machine seen.
	Statuses() ([]inventory.Status, error)
	// Timeline returns the events of mac, oldest first.
	Timeline(mac string) ([]inventory.Event, error)
	// Provision returns the provisioning record of the machine called
	// name: its generation and the one-time steps it took.
	Provision(name string) (inventory.Provision, error)
	// TakeStep records that generation gen of name took step; false means
	// it already had, or gen is not current.
	TakeStep(name string, gen uint64, step string) (bool, error)
}

// Server serves rackboot's HTTP side. Handler may be used without Run.
type Server struct {
	cfg     Config
	inv     Inventory
	log     *slog.Logger
	scripts *ipxe.Scripts
	chain   []byte   // the /boot.ipxe script, rendered once
	router  *chi.Mux // the boot listener's routes
	// ignition serves /ignition; nil until SetIgnition.
	ignition *ignitionSide
	// bmc drives the power routes; nil until SetBMC.
	bmc BMC
	// reprov runs the reprovision routes; nil until SetReprovisioner.
	reprov Reprovisioner
	// tracker adds the Node view to the machine API; nil until SetTracker.
	tracker Tracker
	// streamsDone is closed when the admin listener shuts down: event
	// streams end instead of holding the shutdown up.
	streamsDone chan struct{}
	stopOnce    sync.Once
	metrics     *Metrics // nil until SetMetrics: counts nothing
}

// NewServer checks cfg and returns a server over inv. A nil log is silent.
func NewServer(cfg Config, inv Inventory, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	scripts, err := ipxe.New(cfg.scriptConfig())
	if err != nil {
		return nil, fmt.Errorf("web: PublicURL: %w", err)
	}
	chain, err := scripts.Chain()
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Server{cfg: cfg, inv: inv, log: log, scripts: scripts, chain: chain,
		streamsDone: make(chan struct{})}
	s.router = s.bootRoutes()
	return s, nil
}

// bootRoutes are the boot listener's: what firmware, iPXE and a booting
// OS fetch or post. Nothing administrative is reachable on it.
func (s *Server) bootRoutes() *chi.Mux {
	r := chi.NewRouter()
	r.Use(s.observe)
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	r.Get("/boot.ipxe", s.serveChain)
	r.Get("/ipxe", s.serveScript)
	r.Get("/ignition", s.serveIgnition)
	r.Get("/assets/*", s.serveAsset)
	r.Head("/assets/*", s.serveAsset)
	r.Get("/loaders/{file}", s.serveLoader)
	r.Head("/loaders/{file}", s.serveLoader)
	r.Post("/api/v1/machines/{mac}/callback", s.postCallback)
	return r
}

// apiRoutes registers the JSON API under /api/v1 on r; the admin listener
// serves it behind authentication.
func (s *Server) apiRoutes(r chi.Router) {
	r.Route("/api/v1/machines", func(r chi.Router) {
		r.Get("/", s.listMachines)
		r.Get("/{mac}", s.getMachine)
		r.Get("/{mac}/timeline", s.getTimeline)
		r.Get("/{mac}/explain", s.getExplain)
		s.declareRoutes(r)
		s.bmcRoutes(r)
		s.provisionRoutes(r)
	})
	r.Route("/api/v1/reprovision", s.batchRoutes)
	s.profileRoutes(r)
	s.eventRoutes(r)
}

// BootHandler returns the boot listener's HTTP handler, for tests and for
// callers that run their own http.Server.
func (s *Server) BootHandler() http.Handler { return s.router }

// Run listens on Config.Addr and serves the boot routes in plain HTTP
// until ctx ends, then shuts down gracefully: requests still running
// after Config.ShutdownTimeout are cut and logged. It returns nil once
// stopped, an error only when serving fails.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves the boot routes on ln until ctx ends, like Run. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return serveHTTP(ctx, ln, s.router, "http", s.cfg.shutdownTimeout(), s.log, nil)
}

// serveHTTP serves h on ln until ctx ends, then shuts down within grace;
// name tells the listeners apart in logs and errors. onShutdown, if set,
// is called as the shutdown begins, for answers that would otherwise
// never end.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, name string,
	grace time.Duration, log *slog.Logger, onShutdown func()) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if onShutdown != nil {
		hs.RegisterOnShutdown(onShutdown)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info(name+" serving", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serving %s on %s: %w", name, ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serving %s on %s: %w", name, ln.Addr(), serr)
	}
	if err != nil {
		// A stop is not a failure because a client was slow: cut the
		// requests still in flight and say so.
		hs.Close()
		log.Warn(name+" requests cut short by shutdown", "err", err)
	}
	return nil
}

// stopStreams ends every event stream; it may be called more than once.
func (s *Server) stopStreams() { s.stopOnce.Do(func() { close(s.streamsDone) }) }

// remoteIP is the client's address, IPv4-mapped addresses unmapped, or the
// zero Addr if RemoteAddr does not parse.
func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
