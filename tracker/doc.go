// Package tracker follows every machine rackboot provisions across the line
// where Kubernetes takes over: from the Ignition config going out to a
// Ready Node, recording each step on the machine's timeline and saying in
// plain words where a machine is stuck.
//
// The tracker watches Nodes and CertificateSigningRequests through shared
// informers (no polling of the API server) and reads rackboot's own store
// for what happened before the kubelet started. A machine that has been
// served its Ignition config in its current provisioning generation walks
//
//	ignition-served → csr-pending → registered → ready
//
// and goes degraded when its Ready Node turns NotReady, failed when a stage
// misses its deadline (Deadlines). A failed machine carries a diagnosis:
// an event of kind stalled with the reason, and Tracker.Diagnosis for the
// API.
//
// Nodes are matched to machines by providerID rackboot://<machine name>
// first, then by name, then by InternalIP (the machine's reserved address
// or the last address rackboot saw it use). Only a Node named as its
// machine is adopted; one that claims a machine under another name is
// flagged with a node-mismatch event, and one that matches no machine is
// listed by UnknownNodes.
//
// The tracker approves kubelet serving certificates (signer
// kubernetes.io/kubelet-serving) of the machines it provisions, when the
// requester is the machine's own node identity and every name and address
// in the request is the machine's; it denies such requests that name
// anything else and leaves requests from identities it does not know to
// other approvers. It never approves client certificates: the controller
// manager does, for the bootstrap tokens package join mints. Once a Node
// is Ready the tracker deletes the machine's bootstrap token.
//
// Drain, Uncordon and DeleteNode are for the reprovisioning workflow: cordon
// and drain a Node (through the eviction API, so PodDisruptionBudgets
// hold), take it back into service, and delete a stale Node object. Drain
// itself deletes the machine's stale Nodes, those that claim it under
// another name. A Node that Drain cordoned is uncordoned by the tracker
// once it is Ready again.
//
// Usage:
//
//	t, err := tracker.New(tracker.Config{Client: clientset}, inv, minter, log)
//	if err != nil { ... }
//	go t.Run(ctx) // returns nil when ctx ends
//	...
//	info, ok := t.Machine("node-7")
package tracker
