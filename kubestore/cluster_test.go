package kubestore

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/internal/kubetest"
)

// The package's tests share one control plane, with rackboot's CRDs
// installed: starting one costs seconds of CPU. Each test takes a fresh
// namespace of it (testNamespace).
var shared struct {
	once sync.Once
	tb   packageTB
	cp   *kubetest.ControlPlane
	skip string // why the control plane is missing, if it is
	err  string // why it failed to start, if it did
}

// TestMain stops the shared control plane after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	shared.tb.failed = code != 0
	shared.tb.cleanup()
	os.Exit(code)
}

// testCluster returns the shared control plane, starting it on first use;
// t is skipped when the binaries are missing.
func testCluster(t *testing.T) *kubetest.ControlPlane {
	t.Helper()
	shared.once.Do(startShared)
	switch {
	case shared.skip != "":
		t.Skip(shared.skip)
	case shared.err != "":
		t.Fatal(shared.err)
	}
	return shared.cp
}

func startShared() {
	defer func() {
		if r := recover(); r != nil && r != errTBStop {
			panic(r)
		}
		shared.skip, shared.err = shared.tb.skip, shared.tb.err
	}()
	cp := kubetest.Start(&shared.tb, kubetest.Options{Controllers: []string{"namespace"}})
	_, err := crds.Install(t0(), dynamic.NewForConfigOrDie(cp.Admin), crds.Options{})
	if err != nil {
		shared.tb.Fatalf("installing the CRDs: %v", err)
	}
	shared.cp = cp
}

// testNamespace creates a namespace for t alone in the cluster cfg
// reaches and deletes it when t ends.
func testNamespace(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	name = fmt.Sprintf("%.40s-%s", name, strings.ToLower(rand.Text()[:6]))
	cs := kubernetes.NewForConfigOrDie(cfg)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(t0(), name, metav1.DeleteOptions{})
	})
	return name
}
