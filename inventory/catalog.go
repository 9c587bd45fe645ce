package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
)

// File is the operator's declarative inventory file as written in YAML.
type File struct {
	Profiles []Profile `json:"profiles"`
	Machines []Machine `json:"machines"`
}

// Catalog is a validated inventory file, indexed for lookups, or the
// effective catalog an Inventory makes of one and the machines and
// rejected MACs kept in its store. A Catalog is never changed once
// returned, so it is safe for concurrent use.
type Catalog struct {
	path     string
	profiles map[string]Profile
	machines []Machine
	byMAC    map[string]int // canonical MAC -> index in machines
	byName   map[string]int
	byAddr   map[netip.Addr]int
	// rejected holds the MACs whose DHCP rackboot ignores; never a
	// declared machine's.
	rejected map[string]bool
	// leftOut holds the machines declared through the API that the
	// catalog leaves out, by name; none is in the indexes above.
	leftOut []LeftOut
}

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)

// LoadCatalog reads and validates the inventory file at path. Errors name
// the file, the entry and the field at fault.
func LoadCatalog(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading inventory: %w", err)
	}
	c, err := ParseCatalog(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.path = path
	return c, nil
}

// ParseCatalog parses and validates an inventory document.
func ParseCatalog(data []byte) (*Catalog, error) {
	f, err := decodeFile(data)
	if err != nil {
		return nil, err
	}
	return newCatalog(f)
}

// NewCatalog validates profiles and machines as ParseCatalog validates an
// inventory document's, for declarations that come from elsewhere (the
// Kubernetes store's Profile resources). Its machines count as the
// inventory file's.
func NewCatalog(profiles []Profile, machines []Machine) (*Catalog, error) {
	return newCatalog(File{Profiles: profiles, Machines: machines})
}

func newCatalog(f File) (*Catalog, error) {
	c := emptyCatalog()
	for i, p := range f.Profiles {
		if err := checkProfile(p); err != nil {
			return nil, fmt.Errorf("%s: %w", entry("profiles", i, p.Name), err)
		}
		if _, dup := c.profiles[p.Name]; dup {
			return nil, fmt.Errorf("%s: name: defined twice", entry("profiles", i, p.Name))
		}
		c.profiles[p.Name] = p
	}
	for i, m := range f.Machines {
		m.Source = SourceFile
		checked, err := c.check(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", entry("machines", i, m.Name), err)
		}
		c.insert(checked)
	}
	return c, nil
}

func emptyCatalog() *Catalog {
	return &Catalog{
		profiles: make(map[string]Profile),
		byMAC:    make(map[string]int),
		byName:   make(map[string]int),
		byAddr:   make(map[netip.Addr]int),
		rejected: make(map[string]bool),
	}
}

// check validates m against c: its fields, its profile, and that its
// name, MACs and address are not c's already. It returns m with its MACs
// in canonical form. Errors read "field: problem" and wrap ErrInvalid or
// ErrConflict.
func (c *Catalog) check(m Machine) (Machine, error) {
	if err := CheckName(m.Name); err != nil {
		return m, err
	}
	if other, dup := c.byName[m.Name]; dup {
		if c.machines[other].Source != m.Source {
			return m, conflict("name: %s is declared in the inventory file too", m.Name)
		}
		return m, conflict("name: defined twice")
	}
	p, ok := c.profiles[m.Profile]
	if !ok {
		return m, invalid("profile: %q is not defined", m.Profile)
	}
	macs, err := c.checkMACs(m)
	if err != nil {
		return m, err
	}
	m.MACs = macs
	if err := c.checkAddress(m.Address); err != nil {
		return m, err
	}
	if m.Arch != "" && !m.Arch.Valid() {
		return m, invalid("arch: %q is not one of bios, ia32-efi, x64-efi, arm32-efi, arm64-efi, x86-http, x64-http, arm64-http", m.Arch)
	}
	if err := m.BMC.check(); err != nil {
		return m, invalid("bmc.%v", err)
	}
	if m.Source == SourceAPI {
		return m, checkLabels(m.Labels, p.Ignition != nil)
	}
	return m, nil
}

// checkMACs returns the MACs of m in canonical form.
func (c *Catalog) checkMACs(m Machine) ([]string, error) {
	if len(m.MACs) == 0 {
		return nil, invalid("macs: at least one MAC is required")
	}
	out := make([]string, 0, len(m.MACs))
	for j, raw := range m.MACs {
		mac, err := NormalizeMAC(raw)
		if err != nil {
			return nil, invalid("macs[%d]: %v", j, err)
		}
		if !UnicastMAC(mac) {
			return nil, invalid("macs[%d]: %s is a multicast, broadcast or all-zero "+
				"address, never a network card's", j, mac)
		}
		if slices.Contains(out, mac) {
			return nil, invalid("macs[%d]: %s is listed twice", j, mac)
		}
		if other, dup := c.byMAC[mac]; dup {
			return nil, conflict("macs[%d]: %s already belongs to %s", j, mac, c.owner(other))
		}
		out = append(out, mac)
	}
	return out, nil
}

func (c *Catalog) checkAddress(a netip.Addr) error {
	switch other, dup := c.byAddr[a]; {
	case !a.IsValid():
		return nil
	case !a.Is4():
		return invalid("address: %s is not an IPv4 address", a)
	case dup:
		return conflict("address: %s is already reserved for %s", a, c.owner(other))
	}
	return nil
}

// insert adds m, checked, to c's indexes. A name, MAC or address c
// indexes already keeps its machine: only a machine the catalog leaves out
// has one, and it is checked against c's (see Inventory.checkPutLocked).
func (c *Catalog) insert(m Machine) {
	i := len(c.machines)
	c.machines = append(c.machines, m)
	keep(c.byName, m.Name, i)
	for _, mac := range m.MACs {
		keep(c.byMAC, mac, i)
	}
	if m.Address.IsValid() {
		keep(c.byAddr, m.Address, i)
	}
}

// keep sets index[k] to i unless index has k.
func keep[K comparable](index map[K]int, k K, i int) {
	if _, ok := index[k]; !ok {
		index[k] = i
	}
}

// clone returns a copy of c that insert may grow; profiles are shared,
// as they never change.
func (c *Catalog) clone() *Catalog {
	return &Catalog{
		path:     c.path,
		profiles: c.profiles,
		machines: slices.Clone(c.machines),
		byMAC:    maps.Clone(c.byMAC),
		byName:   maps.Clone(c.byName),
		byAddr:   maps.Clone(c.byAddr),
		rejected: make(map[string]bool),
	}
}

func checkProfile(p Profile) error {
	if !namePattern.MatchString(p.Name) {
		return fmt.Errorf("name: %q is not a lower-case name of letters, digits, '-' and '.'", p.Name)
	}
	if p.Kernel == "" {
		return errors.New("kernel: required")
	}
	assets := append([]string{p.Kernel}, p.Initrds...)
	for _, a := range assets {
		if !fs.ValidPath(a) || strings.Contains(a, "\\") {
			return fmt.Errorf("asset %q: must be a relative path inside the assets directory", a)
		}
	}
	for name, sum := range p.SHA256 {
		if !contains(assets, name) {
			return fmt.Errorf("sha256: %q is neither the kernel nor an initrd", name)
		}
		if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("sha256[%s]: not 64 hex digits", name)
		}
	}
	if strings.Contains(p.Args, "initrd=") {
		return errors.New("args: leave initrd= out; rackboot adds it under UEFI")
	}
	switch p.LocalBoot {
	case "", LocalBootExit, LocalBootSanboot:
	default:
		return fmt.Errorf("local_boot: %q is not exit or sanboot", p.LocalBoot)
	}
	if p.Ignition != nil {
		if err := p.Ignition.check(); err != nil {
			return fmt.Errorf("ignition.%w", err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Path is the file the catalog was loaded from, or "" if parsed from bytes.
func (c *Catalog) Path() string { return c.path }

// Machine returns the declared machine that owns mac (canonical form).
func (c *Catalog) Machine(mac string) (Machine, bool) {
	i, ok := c.byMAC[mac]
	if !ok {
		return Machine{}, false
	}
	return c.machines[i], true
}

// Profile returns the profile called name.
func (c *Catalog) Profile(name string) (Profile, bool) {
	p, ok := c.profiles[name]
	return p, ok
}

// Named returns the declared machine called name.
func (c *Catalog) Named(name string) (Machine, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Machine{}, false
	}
	return c.machines[i], true
}

// Rejected reports whether rackboot ignores the DHCP of mac (canonical
// form): an operator rejected it, and no machine declares it.
func (c *Catalog) Rejected(mac string) bool { return c != nil && c.rejected[mac] }

// Machines returns every declared machine: the inventory file's in file
// order, then those kept in the store, by name.
func (c *Catalog) Machines() []Machine { return c.machines }

// Profiles returns every profile, sorted by name.
func (c *Catalog) Profiles() []Profile {
	out := make([]Profile, 0, len(c.profiles))
	for _, p := range c.profiles {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Profile) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// VerifyAssets checks that every profile's assets exist in fsys and match
// their declared sha256 sums.
func (c *Catalog) VerifyAssets(fsys fs.FS) error {
	var errs []error
	for _, p := range c.profiles {
		for _, a := range append([]string{p.Kernel}, p.Initrds...) {
			if err := verifyAsset(fsys, a, p.SHA256[a]); err != nil {
				errs = append(errs, fmt.Errorf("profile %s: %w", p.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func verifyAsset(fsys fs.FS, name, want string) error {
	f, err := fsys.Open(path.Clean(name))
	if err != nil {
		return fmt.Errorf("asset %s: %w", name, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("asset %s: not a regular file", name)
	}
	if want == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("asset %s: reading: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("asset %s: sha256 is %s, profile says %s", name, got, want)
	}
	return nil
}
