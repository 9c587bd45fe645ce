package inventory

import (
	"net/netip"
	"time"
)

// Backend keeps rackboot's state: the machines declared through the API
// (or as Kubernetes resources), rejected MACs, leases, timelines and
// provisioning. *Store, the embedded bbolt store, is the default; package
// kubestore keeps the same state in a Kubernetes API server so that
// several replicas share it. Everything above the inventory works the
// same on either.
//
// The contract every implementation keeps:
//   - Lookups (Status, Statuses, MACByIP, Leases, Timeline, Provision,
//     StoredMachines, Rejections) answer from memory or local disk, never
//     from a network round trip, so a DHCP packet never waits on one.
//   - Lookups that find nothing return an error wrapping ErrNotFound.
//   - Event Seq numbers grow with time: a later Record returns a higher
//     Seq, and EventsSince(after) returns what came after.
//   - PutLease returns an error wrapping ErrConflict when another MAC
//     holds l.IP unexpired in a backend shared with other replicas; the
//     caller must not hand the address out. TakeStep and NewGeneration
//     are atomic across replicas.
type Backend interface {
	// Record appends e to the timeline of mac and updates its status; a
	// zero e.Time means now. It returns e with Seq and Time set.
	Record(mac string, e Event) (Event, error)
	// RecordByIP records e for the MAC last seen with ip.
	RecordByIP(ip netip.Addr, e Event) (Event, error)
	// Timeline returns the events of mac, oldest first; TimelineSince
	// those with a Seq above after.
	Timeline(mac string) ([]Event, error)
	TimelineSince(mac string, after uint64) ([]Event, error)
	// Status returns the status of mac; Statuses every known MAC's.
	Status(mac string) (Status, error)
	Statuses() ([]Status, error)
	// MACByIP returns the MAC last seen with ip.
	MACByIP(ip netip.Addr) (string, error)
	// Watch and EventsSince follow the recorded events (see Hub).
	Watch(buf int) *Watcher
	EventsSince(after uint64, mac string, limit int) ([]Notice, error)

	// PutLease stores l, replacing any lease of l.MAC; DeleteLease drops
	// the lease of mac; Leases returns every lease, expired ones too.
	PutLease(l Lease) error
	DeleteLease(mac string) error
	Leases() ([]Lease, error)
	// PutDeclined keeps ip out of use until until; Declined returns the
	// quarantined addresses.
	PutDeclined(ip netip.Addr, until time.Time) error
	Declined() ([]Declined, error)

	// Provision, NewGeneration and TakeStep keep each declared machine's
	// provisioning generation and the one-time steps it took.
	Provision(name string) (Provision, error)
	NewGeneration(name string) (Provision, error)
	TakeStep(name string, gen uint64, step string) (bool, error)
	// PutJob, DeleteJob and Jobs keep the reprovisions in flight.
	PutJob(j JobRecord) error
	DeleteJob(name string) error
	Jobs() ([]JobRecord, error)
	// PutBootUUID and BootUUID keep the SMBIOS UUID each MAC reported.
	PutBootUUID(mac, uuid string) error
	BootUUID(mac string) (string, error)

	// StoredMachines returns the machines declared through the backend;
	// PutStoredMachine and DeleteStoredMachine change them. Inventory
	// checks them against the inventory file before it writes. The order
	// decides who wins a clash: the effective catalog takes the machines
	// in the order given, and when two claim one MAC or address
	// the first keeps it and the later one is left out (Catalog.LeftOut).
	// *Store never holds two that clash (Inventory checks each write
	// under its lock) and returns them by name; a shared backend, where
	// kubectl or other replicas write beside this Inventory, returns the
	// oldest declaration first, so that a newcomer never takes a MAC
	// from the machine that had it.
	StoredMachines() (ms []Machine, bad []error, err error)
	PutStoredMachine(m Machine) error
	DeleteStoredMachine(name string) (bool, error)
	// PutRejection, DeleteRejection and Rejections keep the MACs whose
	// DHCP rackboot ignores.
	PutRejection(mac string) error
	DeleteRejection(mac string) (bool, error)
	Rejections() ([]Rejection, error)

	// Dump returns the whole state; Restore loads one into an empty
	// backend.
	Dump() (Dump, error)
	Restore(d Dump) error
}

var _ Backend = (*Store)(nil)
