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
// out. A bad file is fatal at start and ignored on reload, as before;
// with the Kubernetes store a file that declares machines is bad.
type catalogs struct {
	path, assets string
	// optional: a missing file declares nothing (Kubernetes store).
	optional bool
	crs      profileSource // nil: the embedded store
	log      *slog.Logger
	// leftOut, when set, hears which declared machines each rebuild
	// leaves out (the Kubernetes store's ReportLeftOut).
	leftOut func([]inventory.LeftOut)

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
		return fileMachinesError(c.path, len(f.Machines()))
	}
	c.mu.Lock()
	c.file = f
	c.mu.Unlock()
	return nil
}

// fileMachinesError refuses an inventory file that declares n machines
// with the Kubernetes store: their generation and one-time steps would
// live in one replica's memory, so another replica (or this one,
// restarted) would serve the installer again to an installed machine.
func fileMachinesError(path string, n int) error {
	what := "machines"
	if n == 1 {
		what = "machine"
	}
	return fmt.Errorf("inventory: %s declares %d %s; with the kubernetes store it may "+
		"declare profiles only: keep them as Machine resources instead "+
		"(rackboot convert --inventory %s | kubectl apply -f -) and remove them from the file",
		path, n, what, path)
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
	// loadFile refused a file with machines: they are all resources.
	var profiles []inventory.Profile
	if c.file != nil {
		profiles = c.file.Profiles()
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
	cat, err := inventory.NewCatalog(profiles, nil)
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
	c.rebuild(inv)
	for _, err := range inv.Conflicts() {
		if !before[err.Error()] {
			c.log.Warn("machine declared through the API left out", "err", err)
		}
	}
}

// rebuild makes inv's catalog from the base catalog and tells the store
// which of its machines the catalog leaves out, so that their resources
// say so too.
func (c *catalogs) rebuild(inv *inventory.Inventory) {
	inv.SetCatalog(c.base())
	if c.leftOut != nil {
		c.leftOut(inv.Catalog().LeftOut())
	}
}
