// Package v1alpha1 holds the Kubernetes custom resources rackboot can keep
// its inventory in: Machine and Profile, in API group rackboot.io, version
// v1alpha1, with conversions to and from package inventory's types.
//
// A Machine's spec is one inventory.Machine (its BMC credentials named by
// a Secret instead of a file or variable); its status is what rackboot's
// store records of it: state, provisioning generation, address, lease,
// power, Node and the newest events of its timeline. A Profile's spec is
// one inventory.Profile.
//
// The CRD manifests in deploy/crds are generated from these types by
// controller-gen (go generate ./kube/apis/v1alpha1), together with
// zz_generated.deepcopy.go. rackboot install-crds applies them.
//
// This version is unstable: fields may change or go before v1beta1.
// Package kubestore, rackboot's Kubernetes storage backend, reads and
// writes these resources: a Machine's status.macs, status.steps and
// status.reprovision are its per-MAC statuses, provisioning steps and
// reprovision job.
//
// +kubebuilder:object:generate=true
// +groupName=rackboot.io
package v1alpha1

//go:generate go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0 object paths=. crd:crdVersions=v1 output:crd:dir=../../../deploy/crds
