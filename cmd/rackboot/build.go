package main

import (
	"fmt"
	"log/slog"

	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/tftp"
	"github.com/rackboot/rackboot/web"
)

// build makes the long-running parts from the settings. Errors name the
// setting at fault.
func build(s *serveSettings, inv *inventory.Inventory, log *slog.Logger) ([]runner, error) {
	d, err := dhcp.NewServer(s.dhcpConfig(), inv, log.With("component", "dhcp"))
	if err != nil {
		return nil, fmt.Errorf("dhcp: %w", err)
	}
	t, err := tftp.NewServer(tftp.Config{
		Addr:      s.TFTPAddr,
		Interface: s.Interface,
		Roots:     s.fileDirs(),
	}, inv, log.With("component", "tftp"))
	if err != nil {
		return nil, fmt.Errorf("tftp: %w", err)
	}
	w, err := web.NewServer(web.Config{
		Addr:       s.HTTPAddr,
		PublicURL:  s.HTTPURL,
		AssetsDir:  s.AssetsDir,
		LoaderDirs: s.fileDirs(),
	}, inv, log.With("component", "http"))
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	return []runner{d, t, w}, nil
}

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

// fileDirs are the directories TFTP and /loaders/ serve, in search order.
func (s *serveSettings) fileDirs() []string {
	if s.TFTPRoot == "" {
		return []string{s.IPXEDir}
	}
	return []string{s.TFTPRoot, s.IPXEDir}
}
