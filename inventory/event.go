package inventory

import (
	"net/netip"
	"slices"
	"time"
)

// EventKind names one step of a machine's boot.
type EventKind string

// Event kinds, roughly in the order a network boot produces them.
const (
	EventDHCPDiscover  EventKind = "dhcp-discover"  // a boot client asked
	EventDHCPOffer     EventKind = "dhcp-offer"     // rackboot offered
	EventDHCPAck       EventKind = "dhcp-ack"       // rackboot acknowledged
	EventDHCPNak       EventKind = "dhcp-nak"       // rackboot refused a request
	EventDHCPRelease   EventKind = "dhcp-release"   // the client gave its lease back
	EventDHCPDecline   EventKind = "dhcp-decline"   // the client found its address in use
	EventTFTPServed    EventKind = "tftp-served"    // a boot loader went out by TFTP
	EventLoaderServed  EventKind = "loader-served"  // a boot loader went out by HTTP (HTTP Boot)
	EventScriptServed  EventKind = "script-served"  // the per-machine iPXE script went out
	EventKernelFetched EventKind = "kernel-fetched" // the kernel went out in full
	EventInitrdFetched EventKind = "initrd-fetched" // an initrd went out in full
	EventOSCallback    EventKind = "os-callback"    // the booted OS called back
	EventDiscovered    EventKind = "discovered"     // an undeclared machine asked for its script
	EventError         EventKind = "error"          // something failed on rackboot's side
)

// Event kinds of an operator's decision about a discovered machine,
// through the API. Their Detail says who decided and, for an acceptance,
// the name and profile given.
const (
	EventAccepted   EventKind = "accepted"   // declared as a machine
	EventRejected   EventKind = "rejected"   // rackboot ignores its DHCP from now on
	EventUnrejected EventKind = "unrejected" // a rejection was taken back
)

// Event kinds of the Ignition endpoint.
const (
	EventIgnitionServed  EventKind = "ignition-served"  // the machine's Ignition config went out
	EventIgnitionRefused EventKind = "ignition-refused" // a fetch of Ignition was refused (403)
)

// Event kinds of BMC operations (package bmc). Their Detail says who
// asked, what, the result and how long it took.
const (
	EventBMCPower      EventKind = "bmc-power"       // power status or a power change
	EventBMCBootDevice EventKind = "bmc-boot-device" // the next boot device was set
)

// Event kinds of the reprovisioning workflow (package provision). Each
// attempt starts with provision-started; the workflow ends with done or
// failed, whose Detail names the stage the machine stalled at.
const (
	EventProvisionStarted EventKind = "provision-started" // an attempt began: new generation
	EventProvisionDone    EventKind = "provision-done"    // every stage completed in time
	EventProvisionFailed  EventKind = "provision-failed"  // a stage missed its deadline, or a BMC call failed
	// EventProvisionResumed: a new leader took over a reprovision
	// another replica had started; Detail names both.
	EventProvisionResumed EventKind = "provision-resumed"
)

// Event kinds of the registration tracker (package tracker), which follows
// a machine from its Ignition config to a Ready Kubernetes Node.
const (
	EventNodeCSR        EventKind = "node-csr"        // the kubelet asked for its client certificate
	EventNodeRegistered EventKind = "node-registered" // the machine's Node object exists
	EventNodeReady      EventKind = "node-ready"      // the Node is Ready
	EventNodeNotReady   EventKind = "node-not-ready"  // a Ready Node went NotReady or away
	EventStalled        EventKind = "stalled"         // a stage missed its deadline; Detail says why
	EventNodeMismatch   EventKind = "node-mismatch"   // a Node claims the machine under another name
	EventCSRApproved    EventKind = "csr-approved"    // rackboot approved a kubelet serving CSR
	EventCSRDenied      EventKind = "csr-denied"      // rackboot denied a kubelet serving CSR
	EventTokenRevoked   EventKind = "token-revoked"   // the bootstrap token was deleted
	EventNodeDrained    EventKind = "node-drained"    // the Node was cordoned and drained
	EventNodeUncordoned EventKind = "node-uncordoned" // the Node takes pods again
	EventNodeDeleted    EventKind = "node-deleted"    // a stale Node object was deleted
)

// sightings are the kinds recorded when the machine itself showed up:
// its DHCP, TFTP and HTTP requests that rackboot served, its OS calling
// back, and its kubelet's progress. Only these set a status's FirstSeen
// and make a MAC without a state discovered (see Store.Record). The
// other kinds are rackboot's or an operator's doing (decisions, BMC
// calls, reprovisioning, the tracker's actions and deadlines) or a
// request rackboot did not serve (error, ignition-refused): they say
// nothing of the machine on the network.
var sightings = map[EventKind]bool{
	EventDHCPDiscover: true, EventDHCPOffer: true, EventDHCPAck: true,
	EventDHCPNak: true, EventDHCPRelease: true, EventDHCPDecline: true,
	EventTFTPServed: true, EventLoaderServed: true, EventScriptServed: true,
	EventKernelFetched: true, EventInitrdFetched: true, EventOSCallback: true,
	EventDiscovered: true, EventIgnitionServed: true,
	EventNodeCSR: true, EventNodeRegistered: true, EventNodeReady: true,
}

// otherKinds are the known kinds that are not sightings.
var otherKinds = []EventKind{
	EventError, EventAccepted, EventRejected, EventUnrejected,
	EventIgnitionRefused, EventBMCPower, EventBMCBootDevice,
	EventProvisionStarted, EventProvisionDone, EventProvisionFailed, EventProvisionResumed,
	EventNodeNotReady, EventStalled, EventNodeMismatch,
	EventCSRApproved, EventCSRDenied, EventTokenRevoked,
	EventNodeDrained, EventNodeUncordoned, EventNodeDeleted,
}

// Known reports whether k is an event kind this rackboot records.
func (k EventKind) Known() bool { return sightings[k] || slices.Contains(otherKinds, k) }

// Sighting reports whether an event of kind k means the machine itself
// showed up, on the network or through its kubelet: only those set a
// machine's FirstSeen.
func (k EventKind) Sighting() bool { return sightings[k] }

// stateAfter is the state an event moves a machine to; kinds not listed
// leave the state alone.
var stateAfter = map[EventKind]State{
	EventTFTPServed:    StateBooting,
	EventLoaderServed:  StateBooting,
	EventScriptServed:  StateBooting,
	EventKernelFetched: StateBooting,
	EventInitrdFetched: StateBooting,
	EventOSCallback:    StateOSBooted,

	EventIgnitionServed: StateIgnitionServed,

	EventNodeCSR:        StateCSRPending,
	EventNodeRegistered: StateRegistered,
	EventNodeReady:      StateReady,
	EventNodeNotReady:   StateDegraded,
	EventStalled:        StateFailed,

	EventProvisionStarted: StateBooting,
	EventProvisionFailed:  StateFailed,
}

// Event is one entry of a machine's timeline.
type Event struct {
	// Seq orders events store-wide; the store sets it.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind EventKind `json:"kind"`
	// IP is the machine's address when the event knew it; zero otherwise.
	IP netip.Addr `json:"ip,omitzero"`
	// Detail is a short human-readable note: a file name, an architecture,
	// an error text. It never carries secrets.
	Detail string `json:"detail,omitempty"`
}

// Status is the runtime view of one machine, declared or discovered.
type Status struct {
	MAC       string     `json:"mac"`
	State     State      `json:"state"`
	IP        netip.Addr `json:"ip,omitzero"`
	FirstSeen time.Time  `json:"first_seen"`
	LastEvent Event      `json:"last_event"`
}

// Lease is an address handed out in authoritative mode.
type Lease struct {
	MAC      string     `json:"mac"`
	IP       netip.Addr `json:"ip"`
	Expiry   time.Time  `json:"expiry"`
	Hostname string     `json:"hostname,omitempty"`
}

// Expired reports whether the lease has run out at now.
func (l Lease) Expired(now time.Time) bool { return !now.Before(l.Expiry) }
