package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MACStatus is the runtime status of one of a machine's MACs, as
// inventory.Status, with the SMBIOS UUID the MAC last reported.
type MACStatus struct {
	// MAC is the network card this status is about.
	// +required
	MAC MAC `json:"mac"`
	// State is where the machine stood when it last used this MAC; empty
	// for a MAC known only by an operator's decisions.
	// +optional
	State State `json:"state,omitempty"`
	// IP is the address last seen with this MAC.
	// +optional
	IP IP `json:"ip,omitempty"`
	// FirstSeen is when rackboot first saw this MAC on the network.
	// +optional
	FirstSeen *metav1.MicroTime `json:"firstSeen,omitempty"`
	// LastEvent is the newest event of this MAC's timeline.
	// +optional
	LastEvent *MachineEvent `json:"lastEvent,omitempty"`
	// BootUUID is the SMBIOS UUID, lower-case 8-4-4-4-12 hex, the MAC
	// reported with its last boot script request.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	BootUUID string `json:"bootUUID,omitempty"`
}

// ProvisionStep is a one-time step a provisioning generation took.
type ProvisionStep struct {
	// Name names the step, such as installer-served or installed.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Time is when the step was taken.
	// +required
	Time metav1.MicroTime `json:"time"`
}

// ReprovisionJob is a machine's reprovision in flight, as
// inventory.JobRecord, so that any replica resumes it where it was.
type ReprovisionJob struct {
	// MAC is the machine's first MAC when the job was saved.
	// +optional
	MAC MAC `json:"mac,omitempty"`
	// Attempt counts from 1; Attempts is how many the job may take.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Attempt int32 `json:"attempt,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	Attempts int32 `json:"attempts,omitempty"`
	// Generation is the provisioning generation the attempt started.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Generation int64 `json:"generation,omitempty"`
	// Stage is the stage reached: the one waited for.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Stage string `json:"stage,omitempty"`
	// By names who asked for the reprovision.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	By string `json:"by,omitempty"`
	// Queued and Started are when the job was queued and first started;
	// a job saved before it was queued (an older store's) has neither.
	// +optional
	Queued *metav1.MicroTime `json:"queued,omitempty"`
	// +optional
	Started *metav1.MicroTime `json:"started,omitempty"`
	// After is the Seq of the attempt's provision-started event.
	// +optional
	// +kubebuilder:validation:Minimum=0
	After int64 `json:"after,omitempty"`
	// Powered is when the attempt's power cycle was sent; absent until
	// it was.
	// +optional
	Powered *metav1.MicroTime `json:"powered,omitempty"`
	// Replica names the rackboot replica that saved the job last: the
	// one running it, or the one it was submitted to.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Replica string `json:"replica,omitempty"`
	// Limit is how many machines of the job's batch may be reprovisioned
	// at once; absent means the workflow's limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Limit int32 `json:"limit,omitempty"`
}
