package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DHCPLeasesResource is the resource of DHCPLeases, as URLs and RBAC
// rules name it.
var DHCPLeasesResource = GroupVersion.WithResource("dhcpleases")

func init() { SchemeBuilder.Register(addLeaseTypes) }

func addLeaseTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &DHCPLease{}, &DHCPLeaseList{})
	return nil
}

// DHCPLease is one IPv4 address that rackboot's authoritative DHCP leased
// to a MAC, or keeps in quarantine after a client declined it, or both.
// It is named by the address in dotted form ("10.0.0.7"), so an address
// has one object at most: creating it is how a replica claims the address,
// and two replicas cannot both create it; changing it takes the
// resourceVersion the writer read.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=rbl,categories=rackboot
// +kubebuilder:printcolumn:name="MAC",type=string,JSONPath=`.spec.mac`,description="The client holding the address"
// +kubebuilder:printcolumn:name="Expiry",type=string,format=date-time,JSONPath=`.spec.expiry`,description="When the lease runs out"
// +kubebuilder:printcolumn:name="Hostname",type=string,JSONPath=`.spec.hostname`,description="The host name the client sent"
// +kubebuilder:printcolumn:name="Declined Until",type=string,format=date-time,JSONPath=`.spec.declinedUntil`,priority=1,description="The end of the quarantine after a DHCPDECLINE"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="isIP(self.metadata.name) && ip(self.metadata.name).family() == 4 && ip.isCanonical(self.metadata.name)",message="metadata.name must be an IPv4 address in dotted form"
type DHCPLease struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec DHCPLeaseSpec `json:"spec"`
}

// DHCPLeaseList is a list of DHCPLeases.
//
// +kubebuilder:object:root=true
type DHCPLeaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DHCPLease `json:"items"`
}

// DHCPLeaseSpec is the lease of an address (mac, expiry, hostname), its
// quarantine (declinedUntil), or both. A lease that ran out or was
// released stays until someone claims the address again: rackboot
// prefers fresh addresses and gives a client back its last one.
//
// +kubebuilder:validation:XValidation:rule="has(self.mac) == has(self.expiry)",message="mac and expiry go together"
// +kubebuilder:validation:XValidation:rule="has(self.mac) || has(self.declinedUntil)",message="a DHCPLease needs a mac or a declinedUntil"
// +kubebuilder:validation:XValidation:rule="!has(self.hostname) || has(self.mac)",message="hostname needs a mac"
type DHCPLeaseSpec struct {
	// MAC is the client holding the address.
	// +optional
	MAC MAC `json:"mac,omitempty"`
	// Expiry is when the lease runs out; a released lease has run out at
	// its release.
	// +optional
	Expiry *metav1.MicroTime `json:"expiry,omitempty"`
	// Hostname is the host name the client sent (option 12).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Hostname string `json:"hostname,omitempty"`
	// DeclinedUntil is when the address's quarantine ends: a client
	// declined it (RFC 2131 section 4.3.3), so another host answers on
	// it. Nobody gets the address before then.
	// +optional
	DeclinedUntil *metav1.MicroTime `json:"declinedUntil,omitempty"`
}
