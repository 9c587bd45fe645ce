package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/rackboot/rackboot/auth"
	"github.com/rackboot/rackboot/ignition"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/ipxe"
)

// runner is a long-running part of the server.
type runner interface {
	Run(ctx context.Context) error
}

func serve(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	var s serveSettings
	fs := newServeFlags(&s)
	fs.SetOutput(stderr)
	if err := parseSettings(fs, args, getenv); err != nil {
		return err
	}
	log, err := newLogger(stderr, s.LogLevel, s.LogFormat)
	if err != nil {
		return err
	}
	if err := s.resolve(net.InterfaceByName); err != nil {
		return err
	}
	if err := s.Store.resolve(getenv, os.Hostname); err != nil {
		return err
	}
	// A fresh data volume has no assets folder yet; profiles that name
	// files still fail below until the files are there.
	if err := os.MkdirAll(s.AssetsDir, 0o750); err != nil {
		return fmt.Errorf("assets-dir: %w", err)
	}
	backend, rep, closeStore, err := openBackend(&s, log)
	if err != nil {
		return err
	}
	defer closeStore()
	s.TokensEnv = getenv("RACKBOOT_TOKENS")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	start := func(rs ...runner) {
		for _, p := range rs {
			g.Go(func() error { return p.Run(ctx) })
		}
	}
	start(rep.runners()...)
	if err := serveOn(ctx, &s, backend, rep, start, log); err != nil {
		cancel()
		return errors.Join(err, g.Wait())
	}
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("rackboot stopped")
	return nil
}

// serveOn builds the servers over backend, once its caches are filled,
// and starts them with start.
func serveOn(ctx context.Context, s *serveSettings, backend inventory.Backend, rep *replication,
	start func(...runner), log *slog.Logger) error {
	if err := rep.waitSynced(ctx, log); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	cats := newCatalogs(s, rep.profiles(), log)
	if err := cats.loadFile(); err != nil {
		return err
	}
	inv := inventory.New(cats.base(), backend)
	logConflicts(inv, log)
	if rep.kube != nil {
		cats.leftOut = rep.kube.ReportLeftOut
		rep.kube.OnChange(func() { cats.refresh(inv) })
		cats.refresh(inv) // what changed before the hook was in place
	}
	srv, err := build(s, inv, rep, log)
	if err != nil {
		return err
	}
	log.Info("rackboot starting", "version", version, "mode", s.Mode, "iface", s.Interface,
		"ip", s.ServerIP, "http_url", s.HTTPURL, "store", rep.store, "replica", rep.replica,
		"machines", len(inv.Catalog().Machines()))
	start(srv.runners...)
	start(runnerFunc(func(ctx context.Context) error {
		return reloadOnHUP(ctx, s, inv, cats, srv.guard, log)
	}))
	return nil
}

// runnerFunc makes a function a runner.
type runnerFunc func(ctx context.Context) error

// Run calls f.
func (f runnerFunc) Run(ctx context.Context) error { return f(ctx) }

// verifyAssets checks that every profile renders into a safe iPXE script
// and that its kernel and initrds exist in dir and match their declared
// sha256 sums; and, for profiles with Ignition settings, that their cluster
// CA, Butane snippet and node labels pass and their kubelet and CRI-O
// artifacts match their sha512 sums. So a bad profile stops start-up (or a
// reload) instead of failing when a machine boots.
func verifyAssets(c *inventory.Catalog, dir string) error {
	for _, p := range c.Profiles() {
		if err := ipxe.CheckProfile(p); err != nil {
			return fmt.Errorf("inventory: profile %s: %w", p.Name, err)
		}
	}
	if err := ignition.CheckCatalog(c); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	// Through os.Root, as the HTTP server serves them: an asset that is a
	// link out of the directory fails here, not when a machine boots.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("assets-dir: %w", err)
	}
	defer root.Close()
	if err := c.VerifyAssets(root.FS()); err != nil {
		return fmt.Errorf("assets-dir %s: %w", dir, err)
	}
	if err := c.VerifyIgnitionAssets(root.FS()); err != nil {
		return fmt.Errorf("assets-dir %s: %w", dir, err)
	}
	return nil
}

// reloadOnHUP re-reads the inventory file and the API tokens on SIGHUP. A
// file that fails to load or whose assets fail their checks leaves the
// catalog in force alone; leases and timelines are never touched.
func reloadOnHUP(ctx context.Context, s *serveSettings, inv *inventory.Inventory,
	cats *catalogs, guard *auth.Guard, log *slog.Logger) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
		}
		s.reloadTokens(guard, log)
		if err := cats.loadFile(); err != nil {
			log.Error("inventory reload failed; keeping the one in force", "path", s.Inventory, "err", err)
			continue
		}
		cats.rebuild(inv)
		log.Info("inventory reloaded", "path", s.Inventory, "machines", len(inv.Catalog().Machines()))
		logConflicts(inv, log)
	}
}

// logConflicts warns of each machine declared through the API that the
// inventory file now clashes with: it is left out until one of them
// changes.
func logConflicts(inv *inventory.Inventory, log *slog.Logger) {
	for _, err := range inv.Conflicts() {
		log.Warn("machine declared through the API left out", "err", err)
	}
}

// resolve fills in the settings derived from others and checks the ones
// the components do not check themselves.
func (s *serveSettings) resolve(ifaceByName func(string) (*net.Interface, error)) error {
	if s.Interface == "" {
		return errors.New("interface: required (the one interface DHCP and TFTP serve)")
	}
	if _, err := ifaceByName(s.Interface); err != nil {
		return fmt.Errorf("interface: %s: no such network interface", s.Interface)
	}
	if s.Mode != "proxy" && s.Mode != "authoritative" {
		return fmt.Errorf("mode: %q is not proxy or authoritative", s.Mode)
	}
	if err := s.checkPool(); err != nil {
		return err
	}
	if s.BMCTimeout <= 0 {
		return fmt.Errorf("bmc-timeout: %v is not a positive duration", s.BMCTimeout)
	}
	if s.BMCMaxConcurrent < 1 {
		return fmt.Errorf("bmc-max-concurrent: %d must be at least 1", s.BMCMaxConcurrent)
	}
	if !s.ServerIP.IsValid() {
		ip, err := firstIPv4(ifaceByName, s.Interface)
		if err != nil {
			return fmt.Errorf("server-ip: not set and %w", err)
		}
		s.ServerIP = ip
	}
	if !s.ServerIP.Is4() {
		return fmt.Errorf("server-ip: %s is not an IPv4 address", s.ServerIP)
	}
	if s.HTTPURL == "" {
		_, port, err := net.SplitHostPort(s.HTTPAddr)
		if err != nil {
			return fmt.Errorf("http-addr: %w", err)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil || port == "0" {
			return fmt.Errorf("http-addr: port %q must be a fixed number when http-url is not set", port)
		}
		s.HTTPURL = "http://" + net.JoinHostPort(s.ServerIP.String(), port)
	}
	return nil
}

// checkPool names the pool setting an authoritative server lacks; the DHCP
// package checks the values themselves.
func (s *serveSettings) checkPool() error {
	if s.Mode != "authoritative" {
		return nil
	}
	missing := []struct {
		name string
		set  bool
	}{
		{"subnet", s.Subnet.IsValid()},
		{"pool-start", s.PoolStart.IsValid()},
		{"pool-end", s.PoolEnd.IsValid()},
	}
	for _, m := range missing {
		if !m.set {
			return fmt.Errorf("%s: required in authoritative mode", m.name)
		}
	}
	return nil
}

func firstIPv4(ifaceByName func(string) (*net.Interface, error), name string) (netip.Addr, error) {
	ifi, err := ifaceByName(name)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("finding interface %s: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no IPv4 address", name)
}
