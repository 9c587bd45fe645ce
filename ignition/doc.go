// Package ignition renders the Ignition config that turns a freshly booted
// Flatcar Container Linux or Fedora CoreOS machine into a Kubernetes
// worker: hostname and SSH keys, kernel prerequisites, CRI-O, the kubelet
// with a bootstrap kubeconfig, and kube-proxy as a static pod. It knows
// nothing of HTTP: package web serves what it renders.
//
// The inputs are a machine of the inventory, its profile's
// inventory.IgnitionSettings, the machine's provisioning generation and
// the join credentials a Credentials source mints for that generation.
// Binaries (kubelet, the CRI-O system extension) are not embedded: the
// config points Ignition at rackboot's asset store with a sha512 for each,
// so nothing comes from the internet at boot and a corrupted download
// fails loudly.
//
// A config is built in spec 3.3 types, translated to 3.4 when the profile
// asks for it, merged with the profile's optional Butane snippet, then
// encoded and parsed back with the Ignition config package of its spec
// version. Only a config that parses without a single report entry is
// returned; a failure returns an error and no bytes.
//
// Usage:
//
//	r, err := ignition.New(ignition.Config{
//		BaseURL:     "http://192.0.2.10:8080",
//		Credentials: creds, // nil: Render fails with ErrNoCluster
//	})
//	if err != nil { ... }
//	cfg, err := r.Render(ctx, machine, profile, generation)
//
// Check a catalog at start with CheckCatalog, so that a bad Butane
// snippet, CA file or node label is refused before a machine boots.
package ignition
