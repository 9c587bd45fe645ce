package tracker

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/rackboot/rackboot/inventory"
	corev1 "k8s.io/api/core/v1"
)

// matchKind says how a Node was matched to a machine.
type matchKind string

// Ways a Node matches a machine, strongest first.
const (
	byProvider matchKind = "providerID"
	byName     matchKind = "name"
	byAddress  matchKind = "address"
)

// owner returns the machine n belongs to and how it matched: the machine
// its rackboot providerID names, else the machine named like n, else the
// machine at one of n's InternalIPs. It returns "" for a Node that
// matches no declared machine.
func (t *Tracker) owner(n *corev1.Node) (string, matchKind) {
	c := t.inv.Catalog()
	if name, ok := strings.CutPrefix(n.Spec.ProviderID, ProviderIDPrefix); ok {
		if _, ok := machineByName(c, name); ok {
			return name, byProvider
		}
	}
	if _, ok := machineByName(c, n.Name); ok {
		return n.Name, byName
	}
	for _, ip := range internalIPs(n) {
		if name := t.machineAt(c, ip); name != "" {
			return name, byAddress
		}
	}
	return "", ""
}

// machineAt names the machine that reserves ip, else the declared machine
// rackboot last saw with ip, else "".
func (t *Tracker) machineAt(c *inventory.Catalog, ip netip.Addr) string {
	for _, m := range c.Machines() {
		if m.Address == ip {
			return m.Name
		}
	}
	mac, err := t.inv.MACByIP(ip)
	if err != nil {
		return ""
	}
	if m, ok := c.Machine(mac); ok {
		return m.Name
	}
	return ""
}

// stray is a Node that claims a machine under another name.
type stray struct {
	node *corev1.Node
	how  matchKind
}

// nodesOf returns the Node of machine m from the informer's cache, and the
// Nodes that claim m but are named otherwise, by name.
func (t *Tracker) nodesOf(m inventory.Machine, addrs []netip.Addr) (*corev1.Node, []stray) {
	idx := t.nodes
	cands := map[string]*corev1.Node{}
	add := func(objs []any) {
		for _, o := range objs {
			if n, ok := o.(*corev1.Node); ok {
				cands[n.Name] = n
			}
		}
	}
	if obj, ok, _ := idx.GetByKey(m.Name); ok {
		add([]any{obj})
	}
	objs, _ := idx.ByIndex(indexProviderID, m.Name)
	add(objs)
	for _, a := range addrs {
		objs, _ := idx.ByIndex(indexIP, a.String())
		add(objs)
	}
	return t.split(m.Name, cands)
}

// split sorts the candidates of machine name into its own Node and strays.
func (t *Tracker) split(name string, cands map[string]*corev1.Node) (*corev1.Node, []stray) {
	var own *corev1.Node
	var strays []stray
	for _, nodeName := range slices.Sorted(maps.Keys(cands)) {
		n := cands[nodeName]
		owner, how := t.owner(n)
		switch {
		case owner != name:
		case n.Name == name:
			own = n
		default:
			strays = append(strays, stray{node: n, how: how})
		}
	}
	return own, strays
}

// machineView is what rackboot's store says of a declared machine now.
type machineView struct {
	m inventory.Machine
	// mac is the MAC with the newest event, where the tracker records: the
	// API shows a machine's state from its newest event.
	mac   string
	state inventory.State // the state on mac; "" when never seen
	last  inventory.Event // the newest event on mac
	// addrs are the reserved address and the last address of each MAC.
	addrs []netip.Addr
}

// view reads the statuses of m's MACs.
func (t *Tracker) view(m inventory.Machine) (machineView, error) {
	v := machineView{m: m, mac: m.MACs[0]}
	if m.Address.IsValid() {
		v.addrs = append(v.addrs, m.Address)
	}
	for _, mac := range m.MACs {
		st, err := t.inv.Status(mac)
		if errors.Is(err, inventory.ErrNotFound) {
			continue
		}
		if err != nil {
			return v, fmt.Errorf("reading machine %s: %w", m.Name, err)
		}
		if st.IP.IsValid() && !slices.Contains(v.addrs, st.IP) {
			v.addrs = append(v.addrs, st.IP)
		}
		if v.state == "" || st.LastEvent.Seq > v.last.Seq {
			v.mac, v.state, v.last = mac, st.State, st.LastEvent
		}
	}
	return v, nil
}

// machineByName finds the declared machine called name.
func machineByName(c *inventory.Catalog, name string) (inventory.Machine, bool) {
	for _, m := range c.Machines() {
		if m.Name == name {
			return m, true
		}
	}
	return inventory.Machine{}, false
}

// internalIPs returns n's InternalIP addresses that parse.
func internalIPs(n *corev1.Node) []netip.Addr {
	var out []netip.Addr
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// condition returns n's condition of type ct, or nil.
func condition(n *corev1.Node, ct corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == ct {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}
