package inventory

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// maxName is the longest machine name: one DNS label.
const maxName = 63

// CheckName checks a machine's name: a DNS label of lower-case letters,
// digits, '-' and '.', at most 63 characters, that does not read as a MAC
// address. The API finds a machine by name or by MAC in one path
// segment, so a name such as "52-54-00-12-34-01" would hide the machine
// that has that MAC. Errors wrap ErrInvalid and start with "name: ".
func CheckName(name string) error {
	switch {
	case len(name) > maxName:
		return invalid("name: %d characters, at most %d", len(name), maxName)
	case looksLikeMAC(name):
		return invalid("name: %q looks like a MAC address; names must not", name)
	case !namePattern.MatchString(name):
		return invalid("name: %q is not a DNS label of lower-case letters, digits, '-' and '.'", name)
	}
	return nil
}

// looksLikeMAC reports whether s is a hardware address in a form
// net.ParseMAC reads (colons, hyphens or dots), or twelve hex digits.
func looksLikeMAC(s string) bool {
	if _, err := net.ParseMAC(s); err == nil {
		return true
	}
	return len(s) == 12 && strings.Trim(s, "0123456789abcdefABCDEF") == ""
}

// LeftOut is a machine declared through the API that the effective
// catalog leaves out: its name, a MAC or its address is the inventory
// file's now, or the file no longer defines its profile. It stays in the
// store and keeps its name, MACs and address from other API machines, but
// nothing boots by it (its MACs are unknown to DHCP and /ipxe) until
// PutMachine fixes it or DeleteMachine removes it.
type LeftOut struct {
	Machine
	// Reason says why, naming the field at fault: "macs[0]:
	// 02:00:00:00:00:09 already belongs to node3". It wraps ErrConflict
	// or ErrInvalid.
	Reason error
}

// LeftOut returns the machines declared through the API that c leaves
// out, by name.
func (c *Catalog) LeftOut() []LeftOut {
	if c == nil {
		return nil
	}
	return c.leftOut
}

// LeftOutNamed returns the left-out machine called name.
func (c *Catalog) LeftOutNamed(name string) (LeftOut, bool) {
	for _, lo := range c.LeftOut() {
		if lo.Name == name {
			return lo, true
		}
	}
	return LeftOut{}, false
}

// LeftOutMachine returns the left-out machine that has mac (canonical
// form). The MAC may be a declared machine's too: ask Machine first.
func (c *Catalog) LeftOutMachine(mac string) (LeftOut, bool) {
	for _, lo := range c.LeftOut() {
		if slices.Contains(lo.MACs, mac) {
			return lo, true
		}
	}
	return LeftOut{}, false
}

// owner names machine i of c for a conflict: its name, and why the
// effective catalog leaves it out, if it does.
func (c *Catalog) owner(i int) string {
	m := c.machines[i]
	if m.Source != SourceAPI {
		return m.Name
	}
	return m.Name + c.leftOutOf(m.Name)
}

// leftOutOf says why the API machine called name is left out of the
// effective catalog, for a conflict's message; "" when it is not.
func (c *Catalog) leftOutOf(name string) string {
	lo, ok := c.LeftOutNamed(name)
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (left out of the catalog: %v; change it with PUT or delete it)", lo.Reason)
}
