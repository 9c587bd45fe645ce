package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/kube/secrets"
)

// defaultSecretsNamespace is where a BMC's Secret named without a
// namespace is, outside a pod.
const defaultSecretsNamespace = "rackboot"

// bmcSecrets returns the reader of the BMC credentials machines keep in
// Kubernetes Secrets. With --store kubernetes it reads them in the store's
// cluster (found as the store finds it), a Secret
// named without a namespace being in --store-namespace. Otherwise it reads
// them through the cluster --kubeconfig names, in POD_NAMESPACE, else
// "rackboot"; without --kubeconfig it returns nil, and then machines
// naming a Secret fail their BMC operations saying so. A kubeconfig that
// does not load is logged here and reported by the cluster setup or the
// store, which read it too.
func (s *serveSettings) bmcSecrets(log *slog.Logger) bmc.SecretReader {
	path, ns := s.Kubeconfig, secretsNamespace()
	load := func() (*rest.Config, error) { return clientcmd.BuildConfigFromFlags("", path) }
	if s.Store.kubernetes() {
		path, ns = s.Store.Kubeconfig, s.Store.Namespace
		load = func() (*rest.Config, error) { return storeConfig(path, "bmc-secrets") }
	} else if path == "" {
		return nil
	}
	log = log.With("component", "bmc")
	r, err := secretReader(load, ns)
	if err != nil {
		log.Warn("bmc credentials from kubernetes secrets off", "path", path, "err", err)
		return nil
	}
	log.Info("bmc credentials from kubernetes secrets on", "path", path, "namespace", ns)
	return r
}

// secretReader builds a Secret reader from the cluster config load
// returns.
func secretReader(load func() (*rest.Config, error), namespace string) (*secrets.Reader, error) {
	rc, err := load()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "rackboot/bmc-secrets"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return secrets.New(cs.CoreV1(), namespace), nil
}

// secretsNamespace is rackboot's namespace: the pod's, else the default.
func secretsNamespace() string {
	return cmp.Or(os.Getenv("POD_NAMESPACE"), defaultSecretsNamespace)
}
