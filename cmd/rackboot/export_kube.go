package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kubestore"
)

// kubeSyncTimeout bounds how long export and import wait for the
// Kubernetes store's caches.
const kubeSyncTimeout = 2 * time.Minute

// unreachableFor is how long export and import wait on an API server the
// store cannot reach before they give up.
const unreachableFor = 10 * time.Second

// kubeTarget is the Kubernetes store export and import work on, named by
// the flags serve takes for it.
type kubeTarget struct {
	backend    string
	kubeconfig string
	namespace  string
}

func (k *kubeTarget) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&k.backend, "store", storeEmbedded, "state `store`: embedded or kubernetes, as serve's --store")
	fs.StringVar(&k.kubeconfig, "store-kubeconfig", "", "kubernetes store: kubeconfig `file` (default $KUBECONFIG, ~/.kube/config, or the pod's service account)")
	fs.StringVar(&k.namespace, "store-namespace", "", "kubernetes store: `namespace` of the state (default $POD_NAMESPACE, else rackboot)")
}

// on reports whether the Kubernetes store is the target.
func (k *kubeTarget) on() bool { return k.backend == storeKubernetes }

// resolve checks the settings and fills in the namespace's default.
func (k *kubeTarget) resolve(getenv func(string) string) error {
	_, err := resolveStore(k.backend, k.kubeconfig, &k.namespace, getenv)
	return err
}

// with runs the Kubernetes store until its caches are filled, calls f
// with it, and stops it once f returned and its writes are done.
func (k *kubeTarget) with(f func(inventory.Backend) error) error {
	rc, err := storeConfig(k.kubeconfig, "cli")
	if err != nil {
		return err
	}
	if err := checkNamespace(rc, k.namespace); err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	klog.SetSlogLogger(log)
	st, err := kubestore.New(kubestore.Config{Config: rc, Namespace: k.namespace, Replica: "cli", Log: log})
	if err != nil {
		return fmt.Errorf("store-kubeconfig: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := waitStore(ctx, st); err != nil {
		return fmt.Errorf("reading the kubernetes store in namespace %s: %w", k.namespace, err)
	}
	return f(st)
}

// waitStore waits until st's caches are filled. It gives up after
// kubeSyncTimeout, or sooner when the store has said for unreachableFor
// that it cannot reach the API server: a command should not hang on a
// wrong kubeconfig.
func waitStore(ctx context.Context, st *kubestore.Store) error {
	deadline := time.Now().Add(kubeSyncTimeout)
	for {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		err := st.WaitSynced(wctx)
		cancel()
		if err == nil {
			return nil
		}
		h := st.Health()
		switch {
		case h.Degraded && time.Since(h.Since) > unreachableFor:
			return errors.New(h.Reason)
		case time.Now().After(deadline):
			return fmt.Errorf("caches not filled after %v (are the CRDs installed? rackboot install-crds): %w",
				kubeSyncTimeout, err)
		}
	}
}

// checkNamespace fails when the namespace ns does not exist, which the
// store's caches would not tell from an empty one: an export would write
// an empty dump. An identity that may not read namespaces (the store's
// Role grants none) goes on unchecked.
func checkNamespace(rc *rest.Config, ns string) error {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("store-kubeconfig: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), unreachableFor)
	defer cancel()
	_, err = cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil, apierrors.IsForbidden(err):
		return nil
	case apierrors.IsNotFound(err):
		return fmt.Errorf("store-namespace: namespace %s does not exist in the store's cluster", ns)
	}
	return fmt.Errorf("store-namespace: reading namespace %s: %w", ns, err)
}
