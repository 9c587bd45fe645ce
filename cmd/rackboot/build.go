package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rackboot/rackboot/auth"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/metrics"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/tftp"
	"github.com/rackboot/rackboot/web"
)

// server is rackboot serve's parts: what runs until the end, and what a
// SIGHUP reloads beside the inventory.
type server struct {
	runners []runner
	guard   *auth.Guard
}

// build makes the long-running parts from the settings. rep says how the
// state is shared: the leader-only work is gated on its election, and the
// admin listener reports its status. Errors name the setting at fault.
func build(s *serveSettings, inv *inventory.Inventory, rep *replication,
	log *slog.Logger) (*server, error) {
	if rep == nil {
		rep = &replication{store: storeEmbedded}
	}
	loaders := s.loaderFiles(log)
	if len(loaders) == 0 && s.TFTPRoot == "" {
		return nil, fmt.Errorf("ipxe-dir: no boot loader found in %s (Debian's ipxe package fills /usr/lib/ipxe)", s.IPXEDir)
	}
	reg := metrics.NewRegistry()
	dc := s.dhcpConfig()
	dc.Metrics = dhcp.NewMetrics(reg)
	// Replicas start their offers at different places in the pool, and
	// learn of the leases the others hand out.
	dc.CursorSeed = rep.name()
	if rep.kube != nil {
		dc.LeaseFeed = rep.kube
	}
	d, err := dhcp.NewServer(dc, inv, log.With("component", "dhcp"))
	if err != nil {
		return nil, errors.New(poolSettings.Replace(fmt.Sprintf("dhcp: %v", err)))
	}
	t, err := tftp.NewServer(tftp.Config{
		Addr:      s.TFTPAddr,
		Interface: s.Interface,
		Roots:     s.rootDirs(),
		Files:     loaders,
		Metrics:   tftp.NewMetrics(reg),
	}, inv, log.With("component", "tftp"))
	if err != nil {
		return nil, fmt.Errorf("tftp: %w", err)
	}
	w, err := web.NewServer(web.Config{
		Addr:        s.HTTPAddr,
		PublicURL:   s.HTTPURL,
		AssetsDir:   s.AssetsDir,
		LoaderDirs:  s.rootDirs(),
		LoaderFiles: loaders,
	}, inv, log.With("component", "http"))
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	w.SetMetrics(web.NewMetrics(reg))
	guard, err := s.newGuard(log.With("component", "auth"))
	if err != nil {
		return nil, err
	}
	admin, err := s.newAdmin(w, guard, reg, rep.status, log.With("component", "admin"))
	if err != nil {
		return nil, err
	}
	ctl, err := bmc.New(bmc.Config{Timeout: s.BMCTimeout, MaxConcurrent: s.BMCMaxConcurrent,
		Metrics: bmc.NewMetrics(reg), Secrets: s.bmcSecrets(log)}, inv, log.With("component", "bmc"))
	if err != nil {
		return nil, fmt.Errorf("bmc: %w", err)
	}
	w.SetBMC(ctl)
	cluster, tr, err := setupCluster(s, w, inv, reg, rep.leading(), log)
	if err != nil {
		return nil, err
	}
	var drainer provision.Drainer // nil without a tracker: no drain
	if tr != nil {
		drainer = clusterTracker{tr}
	}
	wf, err := s.Provision.workflow(inv, ctl, drainer, rep, log)
	if err != nil {
		return nil, err
	}
	w.SetReprovisioner(wf)
	machines := metrics.New(inv, reg, log.With("component", "metrics"))
	runners := append([]runner{d, t, w, admin, rep.gate(wf), machines}, cluster...)
	return &server{runners: runners, guard: guard}, nil
}

// poolSettings names the fields of the one pool the settings build after
// the settings themselves, for dhcp's errors.
var poolSettings = strings.NewReplacer(
	"dhcp config: pools[0].subnet", "subnet",
	"dhcp config: pools[0].start", "pool-start",
	"dhcp config: pools[0].end", "pool-end",
	"dhcp config: pools[0].router", "router",
	"dhcp config: pools[0].dns", "dns",
)

func (s *serveSettings) dhcpConfig() dhcp.Config {
	c := dhcp.Config{
		Interface: s.Interface,
		Mode:      dhcp.Mode(s.Mode),
		ServerIP:  s.ServerIP,
		HTTPURL:   s.HTTPURL,
		LeaseTime: s.LeaseTime,
		Loaders:   make(map[inventory.Arch]string, len(s.Loaders)),
	}
	for arch, file := range s.Loaders {
		c.Loaders[arch] = *file
	}
	if s.Subnet.IsValid() || s.PoolStart.IsValid() || s.PoolEnd.IsValid() {
		c.Pools = []dhcp.Pool{{
			Subnet: s.Subnet,
			Start:  s.PoolStart,
			End:    s.PoolEnd,
			Router: s.Router,
			DNS:    s.DNS,
		}}
	}
	return c
}

// rootDirs are the operator's directories TFTP and /loaders/ serve whole.
func (s *serveSettings) rootDirs() []string {
	if s.TFTPRoot == "" {
		return nil
	}
	return []string{s.TFTPRoot}
}

// loaderFiles finds each configured boot loader in --ipxe-dir and pins it
// by name, links resolved: Debian's /usr/lib/ipxe/ipxe.efi, for one, is a
// link to /boot, which a confined directory lookup refuses. Only these
// names are served from --ipxe-dir. An architecture whose loader is in
// neither --tftp-root nor --ipxe-dir is switched off, so DHCP never offers
// a file nobody can serve; the list is logged once.
func (s *serveSettings) loaderFiles(log *slog.Logger) map[string]string {
	files := make(map[string]string)
	var off []string
	for _, d := range loaderDefaults {
		name := *s.Loaders[d.arch]
		if name == "" || files[name] != "" {
			continue
		}
		if p, err := filepath.EvalSymlinks(filepath.Join(s.IPXEDir, name)); err == nil {
			files[name] = p
			continue
		}
		if s.TFTPRoot != "" {
			if _, err := os.Stat(filepath.Join(s.TFTPRoot, name)); err == nil {
				continue
			}
		}
		off = append(off, fmt.Sprintf("%s (%s)", d.arch, name))
		*s.Loaders[d.arch] = ""
	}
	if len(off) > 0 {
		log.Info("no boot loader file for some architectures; their clients get no boot offer",
			"arch", strings.Join(off, ", "), "path", s.IPXEDir)
	}
	return files
}
