package inventory

import (
	"errors"
	"fmt"
	"net/netip"
)

// Validate checks d as Restore will write it: its kind and version; every
// MAC in canonical form, every address valid; no two entries of a list
// with one key (machine name, MAC or address), no address leased to two
// MACs, no MAC declared twice; each timeline's events in increasing Seq,
// no Seq used twice or above d.Seq, and each status naming its own MAC
// and last event, each state and event kind one this rackboot knows; the
// address index naming the MAC of every lease running when the dump was
// taken; each profile as the inventory file's, no two with one name.
// The first fault found is returned, naming the list,
// the entry and the field, such as
// "leases[3] (02:00:00:00:00:07): ip: 192.0.2.9 is leased to leases[1] too".
//
// Machines are checked as the API checks them, but for their profile,
// which the inventory file defines: the effective catalog checks it when
// it takes the machine in (Inventory.Conflicts reports a misfit).
func (d *Dump) Validate() error {
	if err := checkHead(d.Kind, d.Version); err != nil {
		return err
	}
	checks := []func() error{
		d.checkProfiles, d.checkMachines, d.checkRejected, d.checkLeases, d.checkDeclined,
		d.checkAddresses, d.checkLeasedAddresses, d.checkProvisioning, d.checkJobs, d.checkBootUUIDs,
		d.checkTimelines,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// keys finds the entries of a list that repeat a key.
type keys struct {
	list string
	seen map[string]int // key -> index of the first entry with it
}

func newKeys(list string) *keys { return &keys{list: list, seen: map[string]int{}} }

// add records that entry i has key, or names the earlier entry with it.
func (ks *keys) add(field, key string, i int) error {
	if j, dup := ks.seen[key]; dup {
		return fmt.Errorf("%s: %s is in %s[%d] too", field, key, ks.list, j)
	}
	ks.seen[key] = i
	return nil
}

// at prefixes err, if any, with the entry it is about.
func at(list string, i int, name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", entry(list, i, name), err)
}

// canonicalMAC checks that mac is a MAC in rackboot's canonical form.
func canonicalMAC(field, mac string) error {
	c, err := NormalizeMAC(mac)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", field, err)
	case c != mac:
		return fmt.Errorf("%s: %q is not in canonical form (%s)", field, mac, c)
	}
	return nil
}

// validIP checks that field holds an address.
func validIP(field string, ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("%s: required", field)
	}
	return nil
}

// checkProfiles checks each profile as the inventory file's are
// checked, and that no two share a name.
func (d *Dump) checkProfiles() error {
	ks := newKeys("profiles")
	for i, p := range d.Profiles {
		err := checkProfile(p)
		if err == nil {
			err = ks.add("name", p.Name, i)
		}
		if err := at("profiles", i, p.Name, err); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dump) checkMachines() error {
	c := emptyCatalog()
	for i, m := range d.Machines {
		if err := at("machines", i, m.Name, c.checkDumped(m)); err != nil {
			return err
		}
	}
	return nil
}

// checkDumped checks m, a machine declared through the API, against the
// machines of c, and adds it. Any valid profile name is taken.
func (c *Catalog) checkDumped(m Machine) error {
	if !namePattern.MatchString(m.Profile) {
		return fmt.Errorf("profile: %q is not a profile name", m.Profile)
	}
	c.profiles[m.Profile] = Profile{Name: m.Profile}
	m.Source = SourceAPI
	checked, err := c.check(m)
	if err != nil {
		return err
	}
	for j, mac := range m.MACs {
		if err := canonicalMAC(fmt.Sprintf("macs[%d]", j), mac); err != nil {
			return err
		}
	}
	c.insert(checked)
	return nil
}

func (d *Dump) checkRejected() error {
	ks := newKeys("rejected")
	for i, r := range d.Rejected {
		_, err := checkMAC(r.MAC)
		if err == nil {
			err = canonicalMAC("mac", r.MAC)
		}
		if err == nil {
			err = ks.add("mac", r.MAC, i)
		}
		if err := at("rejected", i, r.MAC, err); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dump) checkLeases() error {
	macs, ips := newKeys("leases"), newKeys("leases")
	for i, l := range d.Leases {
		err := canonicalMAC("mac", l.MAC)
		if err == nil {
			err = validIP("ip", l.IP)
		}
		if err == nil {
			err = macs.add("mac", l.MAC, i)
		}
		if err == nil {
			err = ips.add("ip", l.IP.String(), i)
		}
		if err := at("leases", i, l.MAC, err); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dump) checkDeclined() error {
	ks := newKeys("declined")
	for i, dc := range d.Declined {
		err := validIP("ip", dc.IP)
		if err == nil {
			err = ks.add("ip", dc.IP.String(), i)
		}
		if err := at("declined", i, "", err); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dump) checkAddresses() error {
	ks := newKeys("addresses")
	for i, a := range d.Addresses {
		err := validIP("ip", a.IP)
		if err == nil {
			err = canonicalMAC("mac", a.MAC)
		}
		if err == nil {
			err = ks.add("ip", a.IP.String(), i)
		}
		if err := at("addresses", i, a.IP.String(), err); err != nil {
			return err
		}
	}
	return nil
}

// checkLeasedAddresses checks that the address index names the MAC of
// each lease still running when the dump was taken (every lease, in a
// dump without Created): the store indexes a lease's address as it
// stores the lease, so a disagreement is an edit that would place TFTP
// and HTTP requests on the wrong timeline.
func (d *Dump) checkLeasedAddresses() error {
	owners := map[netip.Addr]int{}
	for i, a := range d.Addresses {
		owners[a.IP] = i
	}
	for i, l := range d.Leases {
		if !d.Created.IsZero() && l.Expired(d.Created) {
			continue
		}
		j, ok := owners[l.IP]
		var err error
		switch {
		case !ok:
			err = fmt.Errorf("ip: %s is not in addresses", l.IP)
		case d.Addresses[j].MAC != l.MAC:
			err = fmt.Errorf("ip: addresses[%d] says %s is %s's", j, l.IP, d.Addresses[j].MAC)
		}
		if err := at("leases", i, l.MAC, err); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dump) checkProvisioning() error {
	ks := newKeys("provisioning")
	for i, p := range d.Provisioning {
		err := machineName("machine", p.Machine)
		if err == nil && p.Generation == 0 {
			err = errors.New("generation: 0; generations count from 1")
		}
		if err == nil {
			err = ks.add("machine", p.Machine, i)
		}
		if err := at("provisioning", i, p.Machine, err); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dump) checkJobs() error {
	ks := newKeys("jobs")
	for i, j := range d.Jobs {
		err := machineName("machine", j.Machine)
		if err == nil && j.MAC != "" {
			err = canonicalMAC("mac", j.MAC)
		}
		if err == nil {
			err = ks.add("machine", j.Machine, i)
		}
		if err := at("jobs", i, j.Machine, err); err != nil {
			return err
		}
	}
	return nil
}

// machineName checks that field holds a machine's name.
func machineName(field, name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%s: %q is not a machine name", field, name)
	}
	return nil
}

func (d *Dump) checkBootUUIDs() error {
	ks := newKeys("boot_uuids")
	for i, u := range d.BootUUIDs {
		err := canonicalMAC("mac", u.MAC)
		if err == nil {
			err = canonicalUUID(u.UUID)
		}
		if err == nil {
			err = ks.add("mac", u.MAC, i)
		}
		if err := at("boot_uuids", i, u.MAC, err); err != nil {
			return err
		}
	}
	return nil
}

func canonicalUUID(uuid string) error {
	c, err := NormalizeUUID(uuid)
	switch {
	case err != nil:
		return fmt.Errorf("uuid: %w", err)
	case c != uuid:
		return fmt.Errorf("uuid: %q is not in canonical form (%s)", uuid, c)
	}
	return nil
}

func (d *Dump) checkTimelines() error {
	ks := newKeys("timelines")
	seqs := map[uint64]string{} // seq -> MAC whose event has it
	for i, t := range d.Timelines {
		err := canonicalMAC("mac", t.MAC)
		if err == nil {
			err = ks.add("mac", t.MAC, i)
		}
		if err == nil {
			err = t.checkStatus()
		}
		if err == nil {
			err = d.checkEvents(t, seqs)
		}
		if err := at("timelines", i, t.MAC, err); err != nil {
			return err
		}
	}
	return nil
}

// checkStatus checks that the status of t is its own, and that its last
// event is the timeline's. Its State may be empty: a MAC known only by an
// operator's decisions has none.
func (t MachineTimeline) checkStatus() error {
	st := t.Status
	switch {
	case st.MAC != t.MAC:
		return fmt.Errorf("status.mac: %q is not the timeline's", st.MAC)
	case st.State != "" && !st.State.Known():
		return fmt.Errorf("status.state: %q is not a machine state", st.State)
	case len(t.Events) > 0 && st.LastEvent.Seq != t.Events[len(t.Events)-1].Seq:
		return fmt.Errorf("status.last_event: seq %d is not the last event's, %d",
			st.LastEvent.Seq, t.Events[len(t.Events)-1].Seq)
	}
	return nil
}

// checkEvents checks that the events of t are in increasing Seq, each
// at most d.Seq and used by no other event of seqs, which it adds them
// to.
func (d *Dump) checkEvents(t MachineTimeline, seqs map[uint64]string) error {
	var last uint64
	for j, e := range t.Events {
		err := checkEvent(e, last, d.Seq)
		if other, dup := seqs[e.Seq]; err == nil && dup {
			err = fmt.Errorf("seq: %d is an event of %s too", e.Seq, other)
		}
		if err != nil {
			return fmt.Errorf("events[%d]: %w", j, err)
		}
		seqs[e.Seq] = t.MAC
		last = e.Seq
	}
	return nil
}

// checkEvent checks e, which follows an event numbered after, in a store
// that numbered events up to top.
func checkEvent(e Event, after, top uint64) error {
	switch {
	case e.Seq == 0:
		return errors.New("seq: 0; events count from 1")
	case e.Seq <= after:
		return fmt.Errorf("seq: %d is not above the event before it (%d): out of order", e.Seq, after)
	case e.Seq > top:
		return fmt.Errorf("seq: %d is above the dump's seq, %d", e.Seq, top)
	case e.Kind == "":
		return errors.New("kind: required")
	case !e.Kind.Known():
		return fmt.Errorf("kind: %q is not an event kind rackboot records", e.Kind)
	case e.Time.IsZero():
		return errors.New("time: required")
	}
	return nil
}
