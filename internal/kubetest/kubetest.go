// Package kubetest runs a real Kubernetes control plane on loopback for
// integration tests: etcd, kube-apiserver and kube-controller-manager, built
// by tools/kube/build.sh from the release client-go matches.
//
// The control plane is set up the way a kubeadm cluster is, as far as node
// admission goes: a self-made cluster CA, bootstrap token authentication,
// Node and RBAC authorization, the NodeRestriction admission plugin, and a
// controller manager that approves and signs kubelet client CSRs with the
// cluster CA and deletes expired bootstrap tokens.
//
// A test starts one and talks to it as cluster admin:
//
//	cp := kubetest.Start(t, kubetest.Options{})
//	cs := kubernetes.NewForConfigOrDie(cp.Admin)
//
// When the binaries are missing the test is skipped, unless
// RACKBOOT_KUBE_BUILD=1 asks the harness to build them first. Everything
// listens on 127.0.0.1 only, and everything is killed and removed when the
// test ends; when it fails, the tail of each component's log is printed.
package kubetest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultControllers are the controllers the controller manager runs unless
// Options says otherwise: the defaults, plus the bootstrap token cleaner and
// signer, which are off by default.
var DefaultControllers = []string{"*", "tokencleaner", "bootstrapsigner"}

// EnvKeep set to 1 keeps the control plane's folder (configuration, keys and
// logs) after the test instead of removing it.
const EnvKeep = "RACKBOOT_KUBE_KEEP"

// Options adjusts the control plane. The zero value is a complete setup.
type Options struct {
	// Controllers is the controller manager's --controllers list; empty
	// means DefaultControllers.
	Controllers []string
	// APIServerArgs and ControllerManagerArgs are extra flags, appended
	// after the harness's own so that they override them.
	APIServerArgs         []string
	ControllerManagerArgs []string
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	// Server is the API server's URL, https://127.0.0.1:<port>.
	Server string
	// CA is the cluster CA certificate in PEM. It signed the API server's
	// serving certificate, verifies client certificates, and the controller
	// manager signs CSRs with it.
	CA []byte
	// Admin authenticates with a bearer token as user "admin" in
	// system:masters.
	Admin *rest.Config
	// Dir holds the components' configuration, keys and logs.
	Dir string

	procs []*process
}

// Start runs a control plane for the rest of t and waits until the API
// server is ready. It skips t when the binaries are missing and fails it
// when a component does not start.
func Start(t testing.TB, o Options) *ControlPlane {
	t.Helper()
	bin, err := binDir()
	if errors.Is(err, errSkip) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cp := &ControlPlane{Dir: workDir(t)}
	t.Cleanup(func() { cp.stop(t) })
	if err := cp.start(bin, o); err != nil {
		t.Fatalf("starting kubernetes %s: %v", Version, err)
	}
	return cp
}

// workDir returns a fresh folder for the control plane's files.
func workDir(t testing.TB) string {
	if os.Getenv(EnvKeep) != "1" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kubetest: keeping %s", dir)
	return dir
}

// start writes the configuration and runs the components in order.
func (cp *ControlPlane) start(bin string, o Options) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	cp.Server = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	if err := cp.writeConfig(); err != nil {
		return err
	}
	if err := cp.run(bin, "etcd", etcdArgs(cp.Dir, ports[0], ports[1])); err != nil {
		return err
	}
	args := apiServerArgs(ports[0], ports[2])
	if err := cp.run(bin, "kube-apiserver", append(args, o.APIServerArgs...)); err != nil {
		return err
	}
	if err := cp.waitReady(); err != nil {
		return err
	}
	args = controllerManagerArgs(o.Controllers)
	return cp.run(bin, "kube-controller-manager", append(args, o.ControllerManagerArgs...))
}

// run starts one component and remembers it for stop.
func (cp *ControlPlane) run(bin, name string, args []string) error {
	p, err := startProcess(cp.Dir, name, filepath.Join(bin, name), args)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)
	return nil
}

// stop kills the components in reverse order and, when t failed, prints
// the end of each one's log.
func (cp *ControlPlane) stop(t testing.TB) {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop()
	}
	if !t.Failed() {
		return
	}
	for _, p := range cp.procs {
		t.Logf("kubetest: last lines of %s (%s):\n%s", p.name, p.log, p.tail(40))
	}
}

// writeConfig writes the PKI, token file and kubeconfigs, and sets CA and
// Admin.
func (cp *ControlPlane) writeConfig() error {
	ca, err := newAuthority()
	if err != nil {
		return err
	}
	cp.CA = ca.pem
	files, err := pkiFiles(ca)
	if err != nil {
		return err
	}
	admin, kcm := randomToken(), randomToken()
	files["tokens.csv"] = []byte(fmt.Sprintf(
		"%s,admin,admin,system:masters\n%s,system:kube-controller-manager,kcm\n",
		admin, kcm))
	files["kcm.kubeconfig"], err = kubeconfig(cp.Server, ca.pem, kcm)
	if err != nil {
		return err
	}
	if err := writeFiles(cp.Dir, files); err != nil {
		return err
	}
	cp.Admin = &rest.Config{
		Host:            cp.Server,
		BearerToken:     admin,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca.pem},
	}
	return nil
}

// pkiFiles returns the certificates and keys the components read.
func pkiFiles(ca *authority) (map[string][]byte, error) {
	caKey, err := ca.keyPEM()
	if err != nil {
		return nil, err
	}
	serving, servingKey, err := ca.issueServing("kube-apiserver")
	if err != nil {
		return nil, err
	}
	saKey, saPub, err := serviceAccountKeys()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		"ca.crt": ca.pem, "ca.key": caKey,
		"apiserver.crt": serving, "apiserver.key": servingKey,
		"sa.key": saKey, "sa.pub": saPub,
	}, nil
}

// kubeconfig renders a kubeconfig for a bearer token.
func kubeconfig(server string, ca []byte, token string) ([]byte, error) {
	c := clientcmdapi.NewConfig()
	c.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	c.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: token}
	c.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "user"}
	c.CurrentContext = "kubetest"
	b, err := clientcmd.Write(*c)
	if err != nil {
		return nil, fmt.Errorf("writing kubeconfig: %w", err)
	}
	return b, nil
}

// randomToken returns 26 random lower-case letters and digits (130 bits).
func randomToken() string {
	return strings.ToLower(rand.Text())
}
