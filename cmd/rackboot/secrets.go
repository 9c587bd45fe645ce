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
// Kubernetes Secrets, through the cluster --kubeconfig names; nil without
// one, and then machines naming a Secret fail their BMC operations saying
// so. A Secret named without a namespace is in POD_NAMESPACE, else
// "rackboot". A kubeconfig that does not load is logged here and reported
// by the cluster setup, which reads it too.
//
// TODO(#7): prefer --store-kubeconfig (or the in-cluster config) with
// --store kubernetes, and --store-namespace, once those flags exist.
func (s *serveSettings) bmcSecrets(log *slog.Logger) bmc.SecretReader {
	if s.Kubeconfig == "" {
		return nil
	}
	log = log.With("component", "bmc")
	r, err := secretReader(s.Kubeconfig, secretsNamespace())
	if err != nil {
		log.Warn("bmc credentials from kubernetes secrets off", "path", s.Kubeconfig, "err", err)
		return nil
	}
	log.Info("bmc credentials from kubernetes secrets on", "path", s.Kubeconfig)
	return r
}

// secretReader builds a Secret reader from the kubeconfig at path, or
// the in-cluster config for "".
func secretReader(path, namespace string) (*secrets.Reader, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "rackboot/bmc-secrets"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return secrets.New(cs.CoreV1(), namespace), nil
}

// secretsNamespace is rackboot's namespace: the pod's, else the default.
func secretsNamespace() string {
	return cmp.Or(os.Getenv("POD_NAMESPACE"), defaultSecretsNamespace)
}
