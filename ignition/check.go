package ignition

import (
	"errors"
	"fmt"

	"github.com/rackboot/rackboot/inventory"
)

// CheckProfile checks what the inventory's own validation cannot: that
// the profile's Butane snippet translates to its spec version and merges
// into a valid config, and that its cluster CA file holds certificates.
// Profiles without Ignition settings pass. Callers run it when they load a
// catalog, so that a bad profile is refused at start rather than when a
// machine boots.
func CheckProfile(p inventory.Profile) error {
	s := p.Ignition
	if s == nil {
		return nil
	}
	if _, _, err := readCA(s.ClusterCAFile); err != nil {
		return fmt.Errorf("profile %s: ignition.clusterCAFile: %w", p.Name, err)
	}
	snippet, err := translateButane(s)
	if err != nil {
		return fmt.Errorf("profile %s: ignition.butane: %w", p.Name, err)
	}
	if snippet == nil {
		return nil
	}
	if _, err := assemble(emptyConfig(), s.Spec(), snippet); err != nil {
		return fmt.Errorf("profile %s: ignition.butane: %w", p.Name, err)
	}
	return nil
}

// CheckCatalog runs CheckProfile on every profile of c and checks the
// labels of every machine whose profile has Ignition settings, which
// become labels of its Node.
func CheckCatalog(c *inventory.Catalog) error {
	var errs []error
	for _, p := range c.Profiles() {
		errs = append(errs, CheckProfile(p))
	}
	for _, m := range c.Machines() {
		p, ok := c.Profile(m.Profile)
		if !ok || p.Ignition == nil {
			continue
		}
		if _, err := nodeLabels(m, p.Ignition); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
