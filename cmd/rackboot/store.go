package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kubestore"
	"github.com/rackboot/rackboot/leader"
	"github.com/rackboot/rackboot/web"
)

// syncLogEvery is how often serve says it still waits for the Kubernetes
// store's caches.
const syncLogEvery = 10 * time.Second

// replication is how this rackboot shares its state: the store it keeps
// it in and, with the Kubernetes store, the store itself and the leader
// election. The embedded store has neither: its rackboot always leads.
type replication struct {
	store   string           // storeEmbedded or storeKubernetes
	replica string           // --replica-id, or the host name
	kube    *kubestore.Store // nil: the embedded store
	elector *leader.Elector  // nil: this rackboot always leads
}

// openBackend opens the backend --store names. With the Kubernetes store
// nothing is read until its runners (replication.runners) run.
func openBackend(s *serveSettings, log *slog.Logger) (inventory.Backend, *replication, func() error, error) {
	if !s.Store.kubernetes() {
		store, err := inventory.OpenStore(s.DataDir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("data-dir: %w", err)
		}
		host, _ := os.Hostname()
		return store, &replication{store: storeEmbedded, replica: host}, store.Close, nil
	}
	st := &s.Store
	rc, err := storeConfig(st.Kubeconfig, st.ReplicaID)
	if err != nil {
		return nil, nil, nil, err
	}
	klog.SetSlogLogger(log.With("component", "client-go"))
	ks, err := kubestore.New(kubestore.Config{Config: rc, Namespace: st.Namespace,
		Replica: st.ReplicaID, Log: log.With("component", "store")})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("store-kubeconfig: %w", err)
	}
	rep := &replication{store: storeKubernetes, replica: st.ReplicaID, kube: ks}
	if st.LeaderElect {
		if rep.elector, err = newElector(st, rc, log); err != nil {
			return nil, nil, nil, err
		}
	}
	return ks, rep, func() error { return nil }, nil
}

// storeConfig loads the kubeconfig at path or, for "", the one kubectl
// would use as install-crds does ($KUBECONFIG, ~/.kube/config, or the
// pod's service account), naming the replica in its user agent.
func storeConfig(path, replica string) (*rest.Config, error) {
	rc, err := kubeClientConfig(path, "store-kubeconfig")
	if err != nil {
		return nil, fmt.Errorf("store-kubeconfig: %w", err)
	}
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "rackboot/" + replica
	return rc, nil
}

// newElector builds the election of the leader among the replicas.
func newElector(st *storeSettings, rc *rest.Config, log *slog.Logger) (*leader.Elector, error) {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("store-kubeconfig: %w", err)
	}
	e, err := leader.New(leader.Config{Client: cs, Namespace: st.Namespace,
		Name: leader.DefaultName, Identity: st.ReplicaID, LeaseDuration: st.LeaseDuration,
		RenewDeadline: st.RenewDeadline, RetryPeriod: st.RetryPeriod,
		Log: log.With("component", "leader")})
	if err != nil {
		return nil, fmt.Errorf("leader-elect: %w", err)
	}
	return e, nil
}

// runners are the store's and the election's long-running parts.
func (r *replication) runners() []runner {
	var out []runner
	if r.kube != nil {
		out = append(out, r.kube)
	}
	if r.elector != nil {
		out = append(out, r.elector)
	}
	return out
}

// waitSynced blocks until the Kubernetes store's caches are filled,
// saying so in the log meanwhile; the embedded store is ready at once.
func (r *replication) waitSynced(ctx context.Context, log *slog.Logger) error {
	if r.kube == nil {
		return nil
	}
	start := time.Now()
	for {
		wctx, cancel := context.WithTimeout(ctx, syncLogEvery)
		err := r.kube.WaitSynced(wctx)
		cancel()
		switch {
		case err == nil:
			log.Info("kubernetes store synced", "took", time.Since(start).Round(time.Millisecond))
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		log.Info("waiting for the kubernetes store's caches", "waited", time.Since(start).Round(time.Second))
	}
}

// profiles is the source of resource profiles; nil with the embedded
// store.
func (r *replication) profiles() profileSource {
	if r.kube == nil {
		return nil
	}
	return r.kube
}

// gate wraps x to run only while this replica leads.
func (r *replication) gate(x runner) runner {
	if r == nil || r.elector == nil {
		return x
	}
	return r.elector.Gate(x)
}

// leading returns the function that tells whether this replica leads, or
// nil when it always does.
func (r *replication) leading() func() bool {
	if r == nil || r.elector == nil {
		return nil
	}
	return r.elector.Leading
}

// name is this replica's name in saved jobs: empty with the embedded
// store, whose jobs no other replica sees.
func (r *replication) name() string {
	if r == nil || r.kube == nil {
		return ""
	}
	return r.replica
}

// status is what GET /api/v1/status and /readyz tell of the store and
// the leader.
func (r *replication) status() web.Status {
	st := web.Status{Store: r.store, Replica: r.replica, Leader: r.replica, Leading: true}
	if r.kube != nil {
		h := r.kube.Health()
		st.Degraded, st.Reason, st.QueuedWrites = h.Degraded, h.Reason, h.QueuedWrites
		if h.Degraded {
			st.Since = h.Since
		}
	}
	if r.elector != nil {
		st.Leader, st.Leading = r.elector.Leader(), r.elector.Leading()
	}
	return st
}
