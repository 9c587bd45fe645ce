package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The version and kind every dump carries. A reader refuses any other,
// so a dump is never half understood; a change that an older rackboot
// could misread takes a new version.
const (
	DumpKind    = "rackboot-state"
	DumpVersion = 1
)

// ErrNotEmpty is returned (wrapped) by Restore when the store already
// holds state: a restore never merges into or overwrites a store.
var ErrNotEmpty = errors.New("store is not empty")

// Dump is the whole state of a store as one JSON document: what "rackboot
// export" writes and "rackboot import" reads, to back a store up or move
// it to another host. It names no storage backend's keys or buckets, so
// that it can also carry the state from one backend to another.
//
// Every list is in the order of its key (machine name, MAC or address);
// an empty list is left out. Times are RFC 3339 in UTC. Secrets are not
// in it (BMC entries name where credentials are), but timelines show
// where every machine booted from and when, so keep it private.
type Dump struct {
	// Kind is always DumpKind, and Version DumpVersion.
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	// Created is when the dump was taken; restoring ignores it.
	Created time.Time `json:"created,omitzero"`
	// Seq is the last event sequence number the store handed out: no
	// event's Seq is above it, and a restored store numbers its next
	// event Seq+1, so that followers of EventsSince miss nothing.
	Seq uint64 `json:"seq"`

	// Profiles are the profiles kept as state: the Kubernetes store's
	// Profile resources. The embedded store keeps none (its profiles are
	// the inventory file's, which stays the file) and ignores them on
	// Restore.
	Profiles []Profile `json:"profiles,omitempty"`
	// Machines are the machines declared through the API; the inventory
	// file's are not state and stay in the file.
	Machines []Machine `json:"machines,omitempty"`
	// Rejected are the MACs whose DHCP rackboot ignores.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Leases are the addresses handed out in authoritative mode, expired
	// ones included.
	Leases []Lease `json:"leases,omitempty"`
	// Declined are the addresses in quarantine after a DHCPDECLINE.
	Declined []Declined `json:"declined,omitempty"`
	// Addresses is the index of the MAC last seen with each address,
	// which places TFTP and HTTP requests on the right timeline.
	Addresses []AddressOwner `json:"addresses,omitempty"`
	// Provisioning holds each machine's generation and the one-time
	// steps the generation took.
	Provisioning []ProvisionRecord `json:"provisioning,omitempty"`
	// Jobs are the reprovisions in flight.
	Jobs []JobRecord `json:"jobs,omitempty"`
	// BootUUIDs are the SMBIOS UUIDs machines reported with their last
	// script request.
	BootUUIDs []BootUUID `json:"boot_uuids,omitempty"`
	// Timelines holds every machine's status and events.
	Timelines []MachineTimeline `json:"timelines,omitempty"`
}

// AddressOwner says which MAC was last seen with an address.
type AddressOwner struct {
	IP  netip.Addr `json:"ip"`
	MAC string     `json:"mac"`
}

// ProvisionRecord is the provisioning record of the machine called
// Machine.
type ProvisionRecord struct {
	Machine string `json:"machine"`
	Provision
}

// BootUUID is the SMBIOS UUID, in canonical form, that MAC last
// reported.
type BootUUID struct {
	MAC  string `json:"mac"`
	UUID string `json:"uuid"`
}

// MachineTimeline is what the store knows of one MAC: its status and its
// events, oldest first.
type MachineTimeline struct {
	MAC    string  `json:"mac"`
	Status Status  `json:"status"`
	Events []Event `json:"events"`
}

// Dump returns the whole state of s, read in one transaction, so that it
// is consistent even while others write.
func (s *Store) Dump() (Dump, error) {
	d := Dump{Kind: DumpKind, Version: DumpVersion}
	err := s.db.View(func(tx *bolt.Tx) error {
		d.Seq = tx.Bucket(bucketEvents).Sequence()
		return d.read(tx)
	})
	if err != nil {
		return Dump{}, fmt.Errorf("dumping the store: %w", err)
	}
	d.Created = s.now().UTC()
	d.AlignLeasedAddresses()
	return d, nil
}

// AlignLeasedAddresses makes the address index name the holder of each
// lease still running at d.Created (every lease when Created is zero),
// adding the address when the index lacks it. The index is the MAC last
// seen with each address: another MAC using a leased address (a script
// fetched with its MAC from there) moves it, but the lease decides who
// the address belongs to, and Validate wants the two to agree. Backends
// call it at the end of Dump.
func (d *Dump) AlignLeasedAddresses() {
	at := make(map[netip.Addr]int, len(d.Addresses))
	for i, a := range d.Addresses {
		at[a.IP] = i
	}
	for _, l := range d.Leases {
		if !d.Created.IsZero() && l.Expired(d.Created) {
			continue
		}
		if i, ok := at[l.IP]; ok {
			d.Addresses[i].MAC = l.MAC
			continue
		}
		at[l.IP] = len(d.Addresses)
		d.Addresses = append(d.Addresses, AddressOwner{IP: l.IP, MAC: l.MAC})
	}
}

// read fills the lists of d from the buckets of tx.
func (d *Dump) read(tx *bolt.Tx) error {
	steps := []func() error{
		func() error {
			return decodeEach(tx, bucketMachines, func(k string, m Machine) {
				m.Name = k
				d.Machines = append(d.Machines, m)
			})
		},
		func() error { return decodeInto(tx, bucketRejected, &d.Rejected) },
		func() error { return decodeInto(tx, bucketLeases, &d.Leases) },
		func() error { return decodeInto(tx, bucketDeclined, &d.Declined) },
		func() error {
			return forEach(tx, bucketAddrs, func(k, v []byte) error {
				ip, err := netip.ParseAddr(string(k))
				d.Addresses = append(d.Addresses, AddressOwner{IP: ip, MAC: string(v)})
				return err
			})
		},
		func() error {
			return decodeEach(tx, bucketProvision, func(k string, p Provision) {
				d.Provisioning = append(d.Provisioning, ProvisionRecord{Machine: k, Provision: p})
			})
		},
		func() error { return decodeInto(tx, bucketJobs, &d.Jobs) },
		func() error {
			return forEach(tx, bucketBootUUID, func(k, v []byte) error {
				d.BootUUIDs = append(d.BootUUIDs, BootUUID{MAC: string(k), UUID: string(v)})
				return nil
			})
		},
		func() error { return d.readTimelines(tx) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// readTimelines fills d.Timelines from the statuses and events of tx.
func (d *Dump) readTimelines(tx *bolt.Tx) error {
	byMAC := map[string]int{}
	err := decodeEach(tx, bucketStatus, func(k string, st Status) {
		byMAC[k] = len(d.Timelines)
		d.Timelines = append(d.Timelines, MachineTimeline{MAC: k, Status: st})
	})
	if err != nil {
		return err
	}
	return forEach(tx, bucketEvents, func(k, v []byte) error {
		n, err := decodeNotice(k, v)
		if err != nil {
			return err
		}
		i, ok := byMAC[n.MAC]
		if !ok {
			return fmt.Errorf("event %d of %s: the machine has no status", n.Event.Seq, n.MAC)
		}
		d.Timelines[i].Events = append(d.Timelines[i].Events, n.Event)
		return nil
	})
}

// forEach calls fn for every entry of the bucket name, in key order; a
// bucket not made yet holds nothing.
func forEach(tx *bolt.Tx, name []byte, fn func(k, v []byte) error) error {
	b := tx.Bucket(name)
	if b == nil {
		return nil
	}
	return b.ForEach(fn)
}

// decodeEach decodes every value of the bucket name as JSON and hands it
// to fn with its key.
func decodeEach[T any](tx *bolt.Tx, name []byte, fn func(key string, v T)) error {
	return forEach(tx, name, func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("decoding %s %q: %w", name, k, err)
		}
		fn(string(k), x)
		return nil
	})
}

// decodeInto appends every value of the bucket name to list.
func decodeInto[T any](tx *bolt.Tx, name []byte, list *[]T) error {
	return decodeEach(tx, name, func(_ string, v T) { *list = append(*list, v) })
}

// Restore writes d into s, which must hold no state yet (a store just
// made by OpenStore): otherwise it returns an error wrapping ErrNotEmpty.
// It ignores d.Profiles: the embedded store's profiles are the inventory
// file's.
// It checks all of d first (see Validate) and writes it in one
// transaction, so on any error s is left as it was. Events keep their
// Seq, and the next one recorded gets d.Seq+1. Restore a store before
// making an Inventory over it: an Inventory reads the declarations when
// it is made and on its own writes only.
func (s *Store) Restore(d Dump) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("restoring: %w", err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := checkEmpty(tx); err != nil {
			return err
		}
		return d.write(tx)
	})
	if err != nil {
		return fmt.Errorf("restoring: %w", err)
	}
	return nil
}

// holding names a bucket and what it holds, in words.
type holding struct {
	bucket []byte
	what   string
}

// holdings says in words what each bucket holds, in the order a
// refusal lists them.
var holdings = []holding{
	{bucketMachines, "machines declared through the API"},
	{bucketRejected, "rejected MACs"},
	{bucketLeases, "leases"},
	{bucketDeclined, "declined addresses"},
	{bucketAddrs, "addresses seen"},
	{bucketProvision, "provisioning records"},
	{bucketJobs, "reprovision jobs"},
	{bucketBootUUID, "boot UUIDs"},
	{bucketStatus, "machine statuses"},
	{bucketEvents, "timeline events"},
}

// checkEmpty returns an error wrapping ErrNotEmpty, saying what the
// store holds, when a bucket of tx holds an entry or the events have
// been numbered.
func checkEmpty(tx *bolt.Tx) error {
	var held []string
	for _, h := range holdings {
		if b := tx.Bucket(h.bucket); b != nil && !emptyBucket(b) {
			held = append(held, h.what)
		}
	}
	err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if !slices.ContainsFunc(holdings, func(h holding) bool { return bytes.Equal(h.bucket, name) }) &&
			!emptyBucket(b) {
			held = append(held, "state this rackboot does not know")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return fmt.Errorf("%w: it holds %s", ErrNotEmpty, strings.Join(held, ", "))
	}
	return nil
}

// emptyBucket reports whether b holds no entry and numbered nothing.
func emptyBucket(b *bolt.Bucket) bool {
	k, _ := b.Cursor().First()
	return k == nil && b.Sequence() == 0
}

// write puts every entry of d into the buckets of tx.
func (d *Dump) write(tx *bolt.Tx) error {
	steps := []func() error{
		func() error { return putEachJSON(tx, bucketMachines, d.Machines, machineKey) },
		func() error { return putEachJSON(tx, bucketRejected, d.Rejected, Rejection.key) },
		func() error { return putEachJSON(tx, bucketLeases, d.Leases, Lease.key) },
		func() error { return putEachJSON(tx, bucketDeclined, d.Declined, Declined.key) },
		func() error { return putEach(tx, bucketAddrs, d.Addresses, putAddress) },
		func() error { return putEach(tx, bucketProvision, d.Provisioning, putProvision) },
		func() error { return putEachJSON(tx, bucketJobs, d.Jobs, JobRecord.key) },
		func() error { return putEach(tx, bucketBootUUID, d.BootUUIDs, putBootUUID) },
		func() error { return putEach(tx, bucketStatus, d.Timelines, putTimeline) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketEvents).SetSequence(d.Seq)
}

func putAddress(b *bolt.Bucket, a AddressOwner) error {
	return b.Put([]byte(a.IP.String()), []byte(a.MAC))
}

func putProvision(b *bolt.Bucket, p ProvisionRecord) error {
	return putJSON(b, []byte(p.Machine), p.Provision)
}

func putBootUUID(b *bolt.Bucket, u BootUUID) error {
	return b.Put([]byte(u.MAC), []byte(u.UUID))
}

// putTimeline puts the status of t into b, the statuses, and its events
// into the events bucket beside it.
func putTimeline(b *bolt.Bucket, t MachineTimeline) error {
	if err := putJSON(b, []byte(t.MAC), t.Status); err != nil {
		return err
	}
	events := b.Tx().Bucket(bucketEvents)
	for _, e := range t.Events {
		if err := putJSON(events, eventKey(t.MAC, e.Seq), e); err != nil {
			return err
		}
	}
	return nil
}

// putEach hands put every item and the bucket name, made if it must be;
// no items, no bucket.
func putEach[T any](tx *bolt.Tx, name []byte, items []T, put func(*bolt.Bucket, T) error) error {
	if len(items) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(name)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := put(b, it); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

// putEachJSON puts every item as JSON under key(item).
func putEachJSON[T any](tx *bolt.Tx, name []byte, items []T, key func(T) string) error {
	return putEach(tx, name, items, func(b *bolt.Bucket, it T) error {
		return putJSON(b, []byte(key(it)), it)
	})
}

// Keys of the entries a dump holds, as the store files them.
func machineKey(m Machine) string { return m.Name }
func (r Rejection) key() string   { return r.MAC }
func (l Lease) key() string       { return l.MAC }
func (d Declined) key() string    { return d.IP.String() }
func (j JobRecord) key() string   { return j.Machine }

// ReadDump reads a dump written by "rackboot export" (or json.Marshal of
// a Dump) and validates it. It refuses another kind or version before
// anything else, then unknown fields and data after the document, so
// nothing in the file is silently dropped.
func ReadDump(r io.Reader) (Dump, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Dump{}, fmt.Errorf("reading dump: %w", err)
	}
	var head struct {
		Kind    string `json:"kind"`
		Version int    `json:"version"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		return Dump{}, fmt.Errorf("not a rackboot state dump: %w", err)
	}
	if err := checkHead(head.Kind, head.Version); err != nil {
		return Dump{}, err
	}
	var d Dump
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		if path := locate(data, reflect.TypeFor[Dump](), ""); path != "" {
			return Dump{}, fmt.Errorf("decoding dump: %s: %w", path, err)
		}
		return Dump{}, fmt.Errorf("decoding dump: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Dump{}, errors.New("decoding dump: data after the end of the document")
	}
	return d, d.Validate()
}

// checkHead refuses what is not a dump of this version.
func checkHead(kind string, version int) error {
	if kind != DumpKind {
		return fmt.Errorf("kind %q: not a rackboot state dump (kind %q)", kind, DumpKind)
	}
	if version != DumpVersion {
		return fmt.Errorf("version %d: this rackboot reads dump version %d only", version, DumpVersion)
	}
	return nil
}
