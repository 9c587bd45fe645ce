package kubetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
)

// readyTimeout bounds the wait for the API server's /readyz. It takes about
// 4 s on an idle 2-core machine; parallel builds can slow that a lot.
const readyTimeout = 2 * time.Minute

// etcdArgs serves etcd's client and peer URLs on 127.0.0.1 only. Fsync is
// off: the data dies with the test.
func etcdArgs(dir string, client, peer int) []string {
	c := "http://127.0.0.1:" + strconv.Itoa(client)
	p := "http://127.0.0.1:" + strconv.Itoa(peer)
	return []string{
		"--name=kubetest",
		"--data-dir=" + dir + "/etcd",
		"--listen-client-urls=" + c,
		"--advertise-client-urls=" + c,
		"--listen-peer-urls=" + p,
		"--initial-advertise-peer-urls=" + p,
		"--initial-cluster=kubetest=" + p,
		"--unsafe-no-fsync",
	}
}

// apiServerArgs configures kube-apiserver. The advertise address is
// loopback, which needs the endpoint reconciler off; nothing in the tests
// reaches the API server through the kubernetes Service.
func apiServerArgs(etcd, port int) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcd),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=certs",
		"--tls-cert-file=apiserver.crt",
		"--tls-private-key-file=apiserver.key",
		"--client-ca-file=ca.crt",
		"--token-auth-file=tokens.csv",
		"--enable-bootstrap-token-auth",
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=sa.pub",
		"--service-account-signing-key-file=sa.key",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--profiling=false",
	}
}

// controllerManagerArgs configures kube-controller-manager: it signs CSRs
// with the cluster CA, runs each controller under its own service account
// as kubeadm does, and serves no port of its own.
func controllerManagerArgs(controllers []string) []string {
	if len(controllers) == 0 {
		controllers = DefaultControllers
	}
	return []string{
		"--kubeconfig=kcm.kubeconfig",
		"--controllers=" + strings.Join(controllers, ","),
		"--cluster-signing-cert-file=ca.crt",
		"--cluster-signing-key-file=ca.key",
		"--root-ca-file=ca.crt",
		"--service-account-private-key-file=sa.key",
		"--use-service-account-credentials=true",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--profiling=false",
	}
}

// waitReady polls the API server's /readyz until it answers ok, failing
// early when a component exits.
func (cp *ControlPlane) waitReady() error { return cp.waitReadyWatching(cp.procs...) }

// waitReadyWatching is waitReady failing early when one of procs exits.
func (cp *ControlPlane) waitReadyWatching(procs ...*process) error {
	cs, err := kubernetes.NewForConfig(cp.Admin)
	if err != nil {
		return fmt.Errorf("building admin client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		if err := exitedEarly(procs); err != nil {
			return err
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
		if err == nil && string(body) == "ok" {
			return nil
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("waiting %v for %s/readyz: %w", readyTimeout, cp.Server, last)
}

// exitedEarly returns an error when any component has already exited.
func exitedEarly(procs []*process) error {
	for _, p := range procs {
		if gone, err := p.exited(); gone {
			return fmt.Errorf("%s exited (%v); log:\n%s", p.name, err, p.tail(30))
		}
	}
	return nil
}
