// Package kubestore keeps rackboot's state in a Kubernetes API server, so
// that several rackboot replicas share it: *Store implements
// inventory.Backend over the custom resources of package v1alpha1.
//
// Machine objects are the machines declared through the API; their
// status carries the per-MAC runtime status, the provisioning generation
// and steps, the reprovision in flight and the newest timeline events.
// DHCPLease objects are the leases, one per address. The ConfigMap
// "rackboot-rejections" holds the rejected MACs. Every timeline event of
// a declared machine also becomes a Kubernetes Event on its Machine.
//
// Reads answer from informer caches and memory, never from a round trip.
// Synchronous writes (declarations, provisioning steps, jobs, rejections,
// lease claims) use the resourceVersion read and retry on conflict; they
// fail with an error wrapping ErrUnavailable when the API server cannot
// be reached. Status writes are coalesced per machine and queued while
// the API server is away; Health says so.
//
// Use:
//
//	s, err := kubestore.New(kubestore.Config{Config: cfg, Namespace: "rackboot", Replica: "rb-0"})
//	go s.Run(ctx)
//	if err := s.WaitSynced(ctx); err != nil { ... }
//	s.OnChange(func() { // inv := inventory.New(catalog, s)
//		_ = inv.Refresh()
//		s.ReportLeftOut(inv.Catalog().LeftOut()) // the Accepted condition
//	})
//
// This package is unstable, like the v1alpha1 resources it keeps.
package kubestore
