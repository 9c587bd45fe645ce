package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"sync"

	"github.com/rackboot/rackboot/inventory"
)

// profileSource is what the base catalog reads of the Kubernetes store:
// its Profile resources, converted, and the ones that failed to convert.
// *kubestore.Store implements it.
type profileSource interface {
	Profiles() ([]inventory.Profile, []error)
}

// catalogs builds the base catalog, the one the inventory's stored
// machines are checked against: the inventory file's, and with the
// Kubernetes store the Profile resources' beside it. A resource profile
// goes through the checks a file profile does (verifyAssets); one that
// fails them, or whose name the file uses too, is logged once and left
// out. A bad file is fatal at start and ignored on reload, as before.
type catalogs struct {
	path, assets string
	// optional: a missing file declares nothing (Kubernetes store).
	optional bool
	crs      profileSource // nil: the embedded store
	log      *slog.Logger

	// mu guards the fields below; it also serialises rebuilds.
	mu sync.Mutex
	// file is the inventory file's verified catalog; nil when there is
	// no file.
	file *inventory.Catalog
	// checked keeps each resource profile's last verdict, by name, so
	// that its assets are hashed again only when it changes.
	checked map[string]verdict
	// reported holds the problems of the last rebuild, logged when they
	// first showed; now collects the current rebuild's.
	reported, now map[string]bool
}

// verdict is a resource profile as last checked, and the result.
type verdict struct {
	p   inventory.Profile
	err error
}

func newCatalogs(s *serveSettings, crs profileSource, log *slog.Logger) *catalogs {
	return &catalogs{path: s.Inventory, assets: s.AssetsDir, optional: s.Store.kubernetes(),
		crs: crs, log: log, checked: map[string]verdict{}, reported: map[string]bool{}}
}

// loadFile reads and verifies the inventory file. On error the file in
// force stays.
func (c *catalogs) loadFile() error {
	f, err := inventory.LoadCatalog(c.path)
	if err != nil && c.optional && errors.Is(err, fs.ErrNotExist) {
		c.log.Info("no inventory file; machines and profiles come from the kubernetes store",
			"path", c.path)
		f, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	if f != nil {
		if err := verifyAssets(f, c.assets); err != nil {
			return err
		}
	}
	if f != nil && c.optional && len(f.Machines()) > 0 {
		c.log.Warn("with the kubernetes store, the inventory file's machines keep their generation, "+
			"one-time steps and reprovisions in this replica's memory only; declare them as Machine "+
			"resources (rackboot convert prints them)", "machines", len(f.Machines()), "path", c.path)
	}
	c.mu.Lock()
	c.file = f
	c.mu.Unlock()
	return nil
}

// base returns the base catalog: the file's, with the resource profiles
// that pass beside it.
func (c *catalogs) base() *inventory.Catalog {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crs == nil {
		return c.file
	}
	c.now = map[string]bool{}
	defer func() { c.reported, c.now = c.now, nil }()
	var profiles []inventory.Profile
	var machines []inventory.Machine
	if c.file != nil {
		profiles, machines = c.file.Profiles(), c.file.Machines()
	}
	own := make(map[string]bool, len(profiles))
	for _, p := range profiles {
		own[p.Name] = true
	}
	crs, bad := c.crs.Profiles()
	for _, err := range bad {
		c.reportLocked(fmt.Sprintf("profile resource left out: %v", err))
	}
	for _, p := range crs {
		if own[p.Name] {
			c.reportLocked(fmt.Sprintf("profile resource %s left out: the inventory file defines %s too", p.Name, p.Name))
			continue
		}
		if err := c.checkLocked(p); err != nil {
			c.reportLocked(fmt.Sprintf("profile resource %s left out: %v", p.Name, err))
			continue
		}
		profiles = append(profiles, p)
	}
	cat, err := inventory.NewCatalog(profiles, machines)
	if err != nil {
		c.reportLocked(fmt.Sprintf("profile resources left out: %v", err))
		return c.file
	}
	return cat
}

// checkLocked verifies a resource profile alone, as verifyAssets does a
// file's, reusing the last verdict while the profile is unchanged.
func (c *catalogs) checkLocked(p inventory.Profile) error {
	if v, ok := c.checked[p.Name]; ok && reflect.DeepEqual(v.p, p) {
		return v.err
	}
	one, err := inventory.NewCatalog([]inventory.Profile{p}, nil)
	if err == nil {
		err = verifyAssets(one, c.assets)
	}
	c.checked[p.Name] = verdict{p: p, err: err}
	return err
}

// reportLocked logs msg unless the rebuild before reported it too.
func (c *catalogs) reportLocked(msg string) {
	c.now[msg] = true
	if !c.reported[msg] {
		c.log.Warn(msg)
	}
}

// refresh rebuilds inv's catalog after a change in the Kubernetes store:
// the resource profiles, stored machines and rejections. It logs the
// stored machines left out that were not left out before.
func (c *catalogs) refresh(inv *inventory.Inventory) {
	before := map[string]bool{}
	for _, err := range inv.Conflicts() {
		before[err.Error()] = true
	}
	inv.SetCatalog(c.base())
	for _, err := range inv.Conflicts() {
		if !before[err.Error()] {
			c.log.Warn("machine declared through the API left out", "err", err)
		}
	}
}
