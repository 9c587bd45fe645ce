package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// Catalog is a validated inventory file, indexed for lookups. A Catalog is
// never changed after LoadCatalog returns it, so it is safe for concurrent
// use.
type Catalog struct {
	path     string
	profiles map[string]Profile
	machines []Machine
	byMAC    map[string]int
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

func newCatalog(f File) (*Catalog, error) {
	c := &Catalog{
		profiles: make(map[string]Profile, len(f.Profiles)),
		byMAC:    make(map[string]int),
	}
	for i, p := range f.Profiles {
		if err := checkProfile(p); err != nil {
			return nil, fmt.Errorf("%s: %w", entry("profiles", i, p.Name), err)
		}
		if _, dup := c.profiles[p.Name]; dup {
			return nil, fmt.Errorf("%s: name: defined twice", entry("profiles", i, p.Name))
		}
		c.profiles[p.Name] = p
	}
	names := make(map[string]bool)
	addrs := make(map[string]string)
	for i, m := range f.Machines {
		where := entry("machines", i, m.Name)
		if !namePattern.MatchString(m.Name) {
			return nil, fmt.Errorf("%s: name: %q is not a DNS label of lower-case letters, digits, '-' and '.'", where, m.Name)
		}
		if names[m.Name] {
			return nil, fmt.Errorf("%s: name: defined twice", where)
		}
		names[m.Name] = true
		if _, ok := c.profiles[m.Profile]; !ok {
			return nil, fmt.Errorf("%s: profile: %q is not defined", where, m.Profile)
		}
		if len(m.MACs) == 0 {
			return nil, fmt.Errorf("%s: macs: at least one MAC is required", where)
		}
		for j, raw := range m.MACs {
			mac, err := NormalizeMAC(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: macs[%d]: %w", where, j, err)
			}
			if !UnicastMAC(mac) {
				return nil, fmt.Errorf("%s: macs[%d]: %s is a multicast, broadcast or all-zero "+
					"address, never a network card's", where, j, mac)
			}
			if other, dup := c.byMAC[mac]; dup {
				return nil, fmt.Errorf("%s: macs[%d]: %s already belongs to %s", where, j, mac, f.Machines[other].Name)
			}
			c.byMAC[mac] = i
			m.MACs[j] = mac
		}
		if m.Address.IsValid() {
			if !m.Address.Is4() {
				return nil, fmt.Errorf("%s: address: %s is not an IPv4 address", where, m.Address)
			}
			if other, dup := addrs[m.Address.String()]; dup {
				return nil, fmt.Errorf("%s: address: %s is already reserved for %s", where, m.Address, other)
			}
			addrs[m.Address.String()] = m.Name
		}
		if m.Arch != "" && !m.Arch.Valid() {
			return nil, fmt.Errorf("%s: arch: %q is not one of bios, ia32-efi, x64-efi, arm32-efi, arm64-efi, x86-http, x64-http, arm64-http", where, m.Arch)
		}
		if err := m.BMC.check(); err != nil {
			return nil, fmt.Errorf("%s: bmc.%w", where, err)
		}
		c.machines = append(c.machines, m)
	}
	return c, nil
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

// Machines returns every declared machine in file order.
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
