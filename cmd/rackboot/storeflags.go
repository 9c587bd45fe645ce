package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rackboot/rackboot/leader"
)

// Store backends of --store.
const (
	storeEmbedded   = "embedded"
	storeKubernetes = "kubernetes"
)

// defaultStoreNamespace is the store's namespace outside a pod.
const defaultStoreNamespace = "rackboot"

// maxReplicaID bounds --replica-id: Kubernetes Events keep at most 128
// characters of their reporting instance.
const maxReplicaID = 128

// storeSettings are the settings of the state store and, with the
// Kubernetes store, of the replicas sharing it. docs/config.md documents
// them.
type storeSettings struct {
	Backend    string
	Kubeconfig string
	Namespace  string
	ReplicaID  string

	LeaderElect   bool
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
}

func (st *storeSettings) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&st.Backend, "store", storeEmbedded, "state `store`: embedded (bbolt in --data-dir) or kubernetes (custom resources, for several replicas)")
	fs.StringVar(&st.Kubeconfig, "store-kubeconfig", "", "kubernetes store: kubeconfig `file` of the cluster keeping the state (default $KUBECONFIG, ~/.kube/config, or the pod's service account)")
	fs.StringVar(&st.Namespace, "store-namespace", "", "kubernetes store: `namespace` of the state (default $POD_NAMESPACE, else rackboot)")
	fs.StringVar(&st.ReplicaID, "replica-id", "", "kubernetes store: this replica's `name` in the leader Lease, Events and logs (default $POD_NAME, else the host name)")
	fs.BoolVar(&st.LeaderElect, "leader-elect", true, "kubernetes store: elect a leader to run reprovisions, CSR decisions and token cleanup once (false: this replica always leads; run one only)")
	fs.DurationVar(&st.LeaseDuration, "leader-lease-duration", leader.DefaultLeaseDuration, "kubernetes store: how long the other replicas wait for a silent leader before one takes over (`duration`)")
	fs.DurationVar(&st.RenewDeadline, "leader-renew-deadline", leader.DefaultRenewDeadline, "kubernetes store: how long the leader tries to renew its Lease before it stops leading (`duration`)")
	fs.DurationVar(&st.RetryPeriod, "leader-retry-period", leader.DefaultRetryPeriod, "kubernetes store: `duration` between two tries to take or renew the Lease")
}

// resolve fills in the defaults read from the environment and the host,
// and checks the settings. Errors name the setting.
func (st *storeSettings) resolve(getenv func(string) string, hostname func() (string, error)) error {
	kube, err := resolveStore(st.Backend, st.Kubeconfig, &st.Namespace, getenv)
	if err != nil || !kube {
		return err
	}
	if st.ReplicaID == "" {
		st.ReplicaID = getenv("POD_NAME")
	}
	if st.ReplicaID == "" {
		h, err := hostname()
		if err != nil {
			return fmt.Errorf("replica-id: not set, and the host name: %w", err)
		}
		st.ReplicaID = h
	}
	if err := checkReplicaID(st.ReplicaID); err != nil {
		return err
	}
	return st.checkLeader()
}

// resolveStore checks the --store, --store-kubeconfig and
// --store-namespace settings serve, export and import share, filling in
// the namespace's default, and reports whether the store is the
// Kubernetes one. With the embedded store it refuses the settings only
// the Kubernetes store reads, so that a half-made switch to it does not
// go unnoticed.
func resolveStore(backend, kubeconfig string, ns *string, getenv func(string) string) (bool, error) {
	switch backend {
	case storeEmbedded:
		for _, f := range []struct{ name, v string }{
			{"store-kubeconfig", kubeconfig}, {"store-namespace", *ns},
		} {
			if f.v != "" {
				return false, fmt.Errorf("%s: only read with --store kubernetes", f.name)
			}
		}
		return false, nil
	case storeKubernetes:
	default:
		return false, fmt.Errorf("store: %q is not embedded or kubernetes", backend)
	}
	*ns = cmp.Or(*ns, getenv("POD_NAMESPACE"), defaultStoreNamespace)
	if errs := validation.IsDNS1123Label(*ns); len(errs) > 0 {
		return true, fmt.Errorf("store-namespace: %q is not a namespace name: %s", *ns,
			strings.Join(errs, "; "))
	}
	return true, nil
}

// checkReplicaID accepts a name Leases, Events and logs can carry.
func checkReplicaID(id string) error {
	switch {
	case len(id) > maxReplicaID:
		return fmt.Errorf("replica-id: %d characters, at most %d", len(id), maxReplicaID)
	case strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("replica-id: %q holds spaces or control characters", id)
	}
	return nil
}

// checkLeader checks the Lease timings the way the election needs them,
// naming the settings.
func (st *storeSettings) checkLeader() error {
	if !st.LeaderElect {
		return nil
	}
	err := leader.CheckTimings(st.LeaseDuration, st.RenewDeadline, st.RetryPeriod)
	if err != nil {
		return errors.New(leaderSettings.Replace(err.Error()))
	}
	return nil
}

// leaderSettings names the timings of leader's errors after the settings.
var leaderSettings = strings.NewReplacer(
	"lease duration", "leader-lease-duration",
	"renew deadline", "leader-renew-deadline",
	"retry period", "leader-retry-period",
)

// kubernetes reports whether the state is in a Kubernetes API server.
func (st *storeSettings) kubernetes() bool { return st.Backend == storeKubernetes }
