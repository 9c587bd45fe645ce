package lab

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/internal/kubetest"
)

// apiForward is where rackboot, inside the lab namespace, reaches the
// control plane, which listens on the host's loopback: the lab forwards
// this address to it. The API server's certificate names 127.0.0.1.
const apiForward = "127.0.0.1:6443"

// labCluster is the control plane the Ignition guest's credentials are
// minted in.
type labCluster struct {
	cp    *kubetest.ControlPlane
	admin kubernetes.Interface
	// kubeconfig is the file rackboot gets: the forwarded address and a
	// token of the service account testdata/lab/rackboot-rbac.yaml binds.
	kubeconfig string
}

// clusterSkipReason says why the lab has no control plane to run, or "".
// Like kubetest, it builds one when RACKBOOT_KUBE_BUILD=1.
func clusterSkipReason() string {
	if os.Getenv(kubetest.EnvBuild) == "1" {
		return ""
	}
	dir := cmp.Or(os.Getenv(kubetest.EnvBin), kubetest.DefaultBin)
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Sprintf("the Ignition guest needs a Kubernetes control plane: %v "+
				"(run tools/kube/build.sh, about 13 minutes, or set %s=1)", err, kubetest.EnvBuild)
		}
	}
	return ""
}

// startCluster runs a control plane for the rest of t, gives rackboot an
// identity with only the rights of testdata/lab/rackboot-rbac.yaml, and
// forwards the API server into n.
func startCluster(t *testing.T, n *netns) *labCluster {
	t.Helper()
	cp := kubetest.Start(t, kubetest.Options{})
	c := &labCluster{cp: cp, admin: kubernetes.NewForConfigOrDie(cp.Admin)}
	applyRBAC(t, c.admin, "../testdata/lab/rackboot-rbac.yaml")
	token := serviceAccountToken(t, c.admin, "kube-system", "rackboot")

	l, err := n.listen("tcp", apiForward)
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", apiForward, n.name, err)
	}
	forward(t, l, cp.Server[len("https://"):])
	c.kubeconfig = filepath.Join(t.ArtifactDir(), "rackboot.kubeconfig")
	writeKubeconfig(t, c.kubeconfig, "https://"+apiForward, cp.CA, token)
	return c
}

// applyRBAC creates the RBAC objects of the YAML documents in file.
func applyRBAC(t *testing.T, cs kubernetes.Interface, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rbac, ctx, opts := cs.RbacV1(), t.Context(), metav1.CreateOptions{}
	for i, doc := range bytes.Split(b, []byte("\n---\n")) {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s: document %d: %v", file, i, err)
		}
		switch meta.Kind {
		case "ClusterRole":
			_, err = rbac.ClusterRoles().Create(ctx, decode[rbacv1.ClusterRole](t, doc), opts)
		case "ClusterRoleBinding":
			_, err = rbac.ClusterRoleBindings().Create(ctx, decode[rbacv1.ClusterRoleBinding](t, doc), opts)
		case "Role":
			r := decode[rbacv1.Role](t, doc)
			_, err = rbac.Roles(r.Namespace).Create(ctx, r, opts)
		case "RoleBinding":
			r := decode[rbacv1.RoleBinding](t, doc)
			_, err = rbac.RoleBindings(r.Namespace).Create(ctx, r, opts)
		default:
			t.Fatalf("%s: document %d: kind %q is not RBAC", file, i, meta.Kind)
		}
		if err != nil {
			t.Fatalf("%s: creating %s %d: %v", file, meta.Kind, i, err)
		}
	}
}

// decode unmarshals a YAML document into a new T, strictly.
func decode[T any](t *testing.T, doc []byte) *T {
	t.Helper()
	v := new(T)
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("decoding %T: %v", v, err)
	}
	return v
}

// serviceAccountToken creates the service account ns/name and returns a
// token of it valid for an hour.
func serviceAccountToken(t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	sas := cs.CoreV1().ServiceAccounts(ns)
	_, err := sas.Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hour := int64(3600)
	tr, err := sas.CreateToken(t.Context(), name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &hour}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", ns, name, err)
	}
	return tr.Status.Token
}

// writeKubeconfig writes a kubeconfig for server with a bearer token.
func writeKubeconfig(t *testing.T, path, server string, ca []byte, token string) {
	t.Helper()
	c := clientcmdapi.NewConfig()
	c.Clusters["lab"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	c.AuthInfos["rackboot"] = &clientcmdapi.AuthInfo{Token: token}
	c.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: "rackboot"}
	c.CurrentContext = "lab"
	if err := clientcmd.WriteToFile(*c, path); err != nil {
		t.Fatal(err)
	}
}

// forward joins every connection accepted on l to a new connection to
// addr (dialled from the test's own namespace) until t ends.
func forward(t testing.TB, l net.Listener, addr string) {
	serveConns(t, l, func(c net.Conn, track func(net.Conn)) { pipe(c, addr, track) })
}

// serveConns hands every connection accepted on l to handle, on its own
// goroutine, until t ends; then it closes l and every connection handle
// was given or tracked, and waits for the handlers.
func serveConns(t testing.TB, l net.Listener, handle func(c net.Conn, track func(net.Conn))) {
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	track := func(c net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		conns = append(conns, c)
	}
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			track(c)
			wg.Go(func() { handle(c, track) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// pipe copies between c and a new connection to addr until either side
// closes.
func pipe(c net.Conn, addr string, track func(net.Conn)) {
	defer c.Close()
	up, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	track(up)
	splice(c, up)
}

// splice copies between c and up until either side closes, then closes
// both.
func splice(c, up net.Conn) {
	defer up.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.Close()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

// throwawayCA returns a new self-signed CA certificate in PEM, for a
// profile's cluster CA file when there is no cluster.
func throwawayCA(t testing.TB) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rackboot-lab-no-cluster"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
