package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxRecentEvents bounds MachineStatus.RecentEvents: the newest events of
// a machine's timeline that its status keeps.
const MaxRecentEvents = 20

// MaxEventDetail bounds MachineEvent.Detail, in bytes.
const MaxEventDetail = 512

// Machine is one bare-metal machine rackboot boots: its declaration in
// spec, what rackboot has seen of it in status. Its name is the
// machine's name in rackboot: a lower-case DNS label of at most 63
// characters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rbm,categories=rackboot
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,description="Where the machine is in its provisioning"
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.status.ip`,description="The address the machine last used"
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.status.nodeRef.name`,description="The machine's Kubernetes Node"
// +kubebuilder:printcolumn:name="Profile",type=string,JSONPath=`.spec.profile`,priority=1
// +kubebuilder:printcolumn:name="MAC",type=string,JSONPath=`.spec.macs[0]`,priority=1,description="The machine's first MAC"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$')",message="metadata.name must be a lower-case DNS label of at most 63 characters, as rackboot names machines"
type Machine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   MachineSpec   `json:"spec"`
	Status MachineStatus `json:"status,omitempty"`
}

// MachineList is a list of Machines.
//
// +kubebuilder:object:root=true
type MachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Machine `json:"items"`
}

// MAC is an Ethernet address in canonical form: six lower-case hex pairs
// separated by colons, unicast and not all zero.
//
// +kubebuilder:validation:Pattern=`^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$`
// +kubebuilder:validation:XValidation:rule="self != '00:00:00:00:00:00'",message="the all-zero address is never a network card's"
type MAC string

// Name is the name of a rackboot machine or profile: a lower-case DNS
// label of at most 63 characters.
//
// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`
// +kubebuilder:validation:MaxLength=63
type Name string

// Arch is a client system architecture, as inventory.Arch.
//
// +kubebuilder:validation:Enum=bios;ia32-efi;x64-efi;arm32-efi;arm64-efi;x86-http;x64-http;arm64-http
type Arch string

// MachineSpec is what the operator declares of a machine, as
// inventory.Machine.
type MachineSpec struct {
	// MACs are the machine's network cards; any of them identifies it.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	MACs []MAC `json:"macs"`
	// Profile names the Profile, in the Machine's namespace, the machine
	// boots.
	// +required
	Profile Name `json:"profile"`
	// Labels are the machine's labels; with an Ignition profile they go
	// on its Node too.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Address is the IPv4 address reserved for the machine in
	// authoritative DHCP; empty means one from the pool.
	// +optional
	// +kubebuilder:validation:Format=ipv4
	Address string `json:"address,omitempty"`
	// Arch overrides the architecture the machine claims in DHCP option
	// 93; empty means "believe the machine".
	// +optional
	Arch Arch `json:"arch,omitempty"`
	// BMC is how rackboot reaches the machine's baseboard management
	// controller; absent means it has none.
	// +optional
	BMC *BMC `json:"bmc,omitempty"`
}

// BMC says how rackboot reaches a machine's BMC, as inventory.BMC, with
// its credentials in a Secret.
//
// +kubebuilder:validation:XValidation:rule="!has(self.port) || (has(self.protocol) && self.protocol != 'auto')",message="port: set protocol to redfish or ipmi to give a port"
// +kubebuilder:validation:XValidation:rule="!(has(self.caFile) && has(self.insecureSkipVerify) && self.insecureSkipVerify)",message="insecureSkipVerify: a caFile is given; verify against it instead"
// +kubebuilder:validation:XValidation:rule="!has(self.protocol) || self.protocol != 'ipmi' || (!has(self.caFile) && !(has(self.insecureSkipVerify) && self.insecureSkipVerify))",message="caFile and insecureSkipVerify apply to redfish only; protocol is ipmi"
type BMC struct {
	// Protocol is redfish, ipmi or auto (try Redfish, fall back to IPMI);
	// empty means auto.
	// +optional
	// +kubebuilder:validation:Enum=redfish;ipmi;auto
	Protocol string `json:"protocol,omitempty"`
	// Address is the BMC's host name or IP address, without scheme or
	// port.
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="isIP(self) || self.matches('^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$')",message="not a host name or IP address (no scheme, port or path)"
	Address string `json:"address"`
	// Port is the BMC's TCP (Redfish) or UDP (IPMI) port; absent means
	// the protocol's default, 443 or 623. Needs protocol redfish or ipmi.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// CredentialsSecretRef names the Secret holding the BMC's user name
	// and password.
	// +required
	CredentialsSecretRef CredentialsSecretRef `json:"credentialsSecretRef"`
	// CAFile is the absolute path, in rackboot's file system, of PEM
	// certificates that sign the BMC's Redfish certificate (a mounted
	// ConfigMap, say); empty means the system's roots.
	// +optional
	// +kubebuilder:validation:Pattern=`^/`
	CAFile string `json:"caFile,omitempty"`
	// InsecureSkipVerify turns off Redfish TLS certificate verification
	// for this BMC.
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// BootMode is uefi or legacy; empty derives it from the machine's
	// arch (bios means legacy, anything else uefi).
	// +optional
	// +kubebuilder:validation:Enum=uefi;legacy
	BootMode string `json:"bootMode,omitempty"`
}

// CredentialsSecretRef names a Secret and the two keys in it that hold a
// user name and a password.
type CredentialsSecretRef struct {
	// Name is the Secret's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace is the Secret's namespace; empty means the Machine's.
	// rackboot must be allowed to read Secrets there.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// UserKey is the key of the user name in the Secret's data.
	// +optional
	// +kubebuilder:default=username
	// +kubebuilder:validation:MinLength=1
	UserKey string `json:"userKey,omitempty"`
	// PasswordKey is the key of the password in the Secret's data.
	// +optional
	// +kubebuilder:default=password
	// +kubebuilder:validation:MinLength=1
	PasswordKey string `json:"passwordKey,omitempty"`
}

// State is where a machine is in its provisioning life, as
// inventory.State.
//
// +kubebuilder:validation:Enum=discovered;booting;os-booted;ignition-served;csr-pending;registered;ready;degraded;failed
type State string

// PowerState is the last power state a BMC operation read.
//
// +kubebuilder:validation:Enum=on;off;powering-on;powering-off;unknown
type PowerState string

// MachineStatus is what rackboot has recorded of a machine. rackboot
// writes it through the status subresource; a change of spec never
// touches it.
type MachineStatus struct {
	// State is where the machine is in its provisioning life; empty for
	// a machine never seen on the network.
	// +optional
	State State `json:"state,omitempty"`
	// Generation is the machine's provisioning generation: 1 at first,
	// one more at each reprovision. It is not metadata.generation.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Generation int64 `json:"generation,omitempty"`
	// IP is the address the machine last used.
	// +optional
	IP IP `json:"ip,omitempty"`
	// Lease is the machine's lease in authoritative DHCP, if it holds
	// one.
	// +optional
	Lease *Lease `json:"lease,omitempty"`
	// Power is the last power state a BMC operation read; empty when
	// none did.
	// +optional
	Power PowerState `json:"power,omitempty"`
	// NodeRef names the machine's Kubernetes Node once it registered.
	// +optional
	NodeRef *NodeRef `json:"nodeRef,omitempty"`
	// FirstSeen is when rackboot first saw the machine on the network.
	// +optional
	FirstSeen *metav1.Time `json:"firstSeen,omitempty"`
	// LastEvent is the newest event of the machine's timeline.
	// +optional
	LastEvent *MachineEvent `json:"lastEvent,omitempty"`
	// RecentEvents are the newest events of the machine's timeline,
	// oldest first; the whole timeline stays in rackboot.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	RecentEvents []MachineEvent `json:"recentEvents,omitempty"`
	// Diagnosis says in plain words why the machine is stuck; empty when
	// it is not.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Diagnosis string `json:"diagnosis,omitempty"`
	// Deadline is when the machine's current stage stalls; absent when
	// no stage is timed.
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`
	// MACs is the runtime status of each of the machine's MACs that
	// rackboot has seen or acted on; the fields above merge them.
	// +optional
	// +listType=map
	// +listMapKey=mac
	// +kubebuilder:validation:MaxItems=16
	MACs []MACStatus `json:"macs,omitempty"`
	// Steps are the one-time steps the current provisioning generation
	// took, such as installer-served.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Steps []ProvisionStep `json:"steps,omitempty"`
	// Reprovision is the machine's reprovision in flight, if any.
	// +optional
	Reprovision *ReprovisionJob `json:"reprovision,omitempty"`
	// Conditions are the machine's conditions in the Kubernetes
	// convention, one per type.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Lease is an address handed out in authoritative DHCP.
type Lease struct {
	// IP is the leased address.
	// +required
	// +kubebuilder:validation:Format=ipv4
	IP string `json:"ip"`
	// Expiry is when the lease runs out.
	// +required
	Expiry metav1.Time `json:"expiry"`
	// Hostname is the host name the client gave, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Hostname string `json:"hostname,omitempty"`
}

// NodeRef names a Kubernetes Node.
type NodeRef struct {
	// Name is the Node's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// MachineEvent is one entry of a machine's timeline, as inventory.Event.
type MachineEvent struct {
	// MAC is the network card the event is about, when the machine has
	// several; empty in events written before it was kept.
	// +optional
	MAC MAC `json:"mac,omitempty"`
	// Seq orders events; rackboot's store numbers them.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Seq int64 `json:"seq,omitempty"`
	// Time is when the event happened.
	// +required
	Time metav1.MicroTime `json:"time"`
	// Kind names the step, such as dhcp-ack or node-ready
	// (docs/tracker.md lists them).
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9-]{1,63}$`
	Kind string `json:"kind"`
	// IP is the machine's address when the event knew it.
	// +optional
	IP IP `json:"ip,omitempty"`
	// Detail is a short note: a file name, an architecture, an error
	// text. It never carries secrets.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Detail string `json:"detail,omitempty"`
}
