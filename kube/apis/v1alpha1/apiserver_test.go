package v1alpha1_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// ns is the namespace the tests keep their resources in.
const ns = "rackboot"

// cluster is a control plane with the CRDs installed.
type cluster struct {
	cp       *kubetest.ControlPlane
	machines dynamic.ResourceInterface
	profiles dynamic.ResourceInterface
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	cp := kubetest.Start(t, kubetest.Options{})
	dyn := dynamic.NewForConfigOrDie(cp.Admin)
	if _, err := crds.Install(t.Context(), dyn, crds.Options{}); err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cp.Admin)
	_, err := cs.CoreV1().Namespaces().Create(t.Context(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{cp: cp,
		machines: dyn.Resource(v1alpha1.MachinesResource).Namespace(ns),
		profiles: dyn.Resource(v1alpha1.ProfilesResource).Namespace(ns)}
}

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into runtime.Object) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
}

func exampleMachine(t *testing.T) *v1alpha1.Machine {
	var m v1alpha1.Machine
	readStrict(t, "testdata/machine.yaml", &m)
	return &m
}

func exampleProfile(t *testing.T) *v1alpha1.Profile {
	var p v1alpha1.Profile
	readStrict(t, "testdata/profile.yaml", &p)
	return &p
}

var strict = metav1.CreateOptions{FieldValidation: "Strict"}

// TestAgainstAPIServer checks the CRDs in a real API server: the examples
// go in and come back with the Secret keys defaulted, invalid resources
// are refused with the field named, status and spec change only through
// their own endpoints, and a Table request shows the printer columns.
func TestAgainstAPIServer(t *testing.T) {
	c := startCluster(t)
	if _, err := c.profiles.Create(t.Context(), toUnstructured(t, exampleProfile(t)), strict); err != nil {
		t.Fatalf("creating the example profile: %v", err)
	}
	want := exampleMachine(t)
	u, err := c.machines.Create(t.Context(), toUnstructured(t, want), strict)
	if err != nil {
		t.Fatalf("creating the example machine: %v", err)
	}
	var got v1alpha1.Machine
	fromUnstructured(t, u, &got)
	want.Spec.BMC.CredentialsSecretRef.UserKey = "username"
	want.Spec.BMC.CredentialsSecretRef.PasswordKey = "password"
	if diff := cmp.Diff(want.Spec, got.Spec); diff != "" {
		t.Errorf("created machine's spec (-want +got):\n%s", diff)
	}

	t.Run("invalid machines", func(t *testing.T) { testInvalidMachines(t, c) })
	t.Run("invalid profiles", func(t *testing.T) { testInvalidProfiles(t, c) })
	t.Run("status subresource", func(t *testing.T) { testStatus(t, c) })
	t.Run("table", func(t *testing.T) { testTable(t, c) })
	t.Run("dhcp leases", func(t *testing.T) { testDHCPLeases(t, c) })
}

func testInvalidMachines(t *testing.T, c *cluster) {
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.Machine)
		want   string // in the API server's error
	}{
		{"mac not hex", func(m *v1alpha1.Machine) { m.Spec.MACs[0] = "02:00:00:00:00:0g" }, "spec.macs[0]"},
		{"mac upper case", func(m *v1alpha1.Machine) { m.Spec.MACs[1] = "02:00:00:00:00:AB" }, "spec.macs[1]"},
		{"mac with hyphens", func(m *v1alpha1.Machine) { m.Spec.MACs[0] = "02-00-00-00-00-01" }, "spec.macs[0]"},
		{"mac multicast", func(m *v1alpha1.Machine) { m.Spec.MACs[0] = "01:00:5e:00:00:01" }, "spec.macs[0]"},
		{"mac all zero", func(m *v1alpha1.Machine) { m.Spec.MACs[0] = "00:00:00:00:00:00" }, "spec.macs[0]"},
		{"mac twice", func(m *v1alpha1.Machine) { m.Spec.MACs[1] = m.Spec.MACs[0] }, "spec.macs[1]: Duplicate value"},
		{"no macs", func(m *v1alpha1.Machine) { m.Spec.MACs = nil }, "spec.macs: Required value"},
		{"arch", func(m *v1alpha1.Machine) { m.Spec.Arch = "sparc" }, `spec.arch: Unsupported value: "sparc"`},
		{"address", func(m *v1alpha1.Machine) { m.Spec.Address = "192.0.2.256" }, "spec.address"},
		{"ipv6 address", func(m *v1alpha1.Machine) { m.Spec.Address = "2001:db8::1" }, "spec.address"},
		{"profile name", func(m *v1alpha1.Machine) { m.Spec.Profile = "Flatcar" }, "spec.profile"},
		{"long name", func(m *v1alpha1.Machine) { m.Name = strings.Repeat("w", 64) }, "metadata.name must be a lower-case DNS label"},
		{"bmc port without protocol", func(m *v1alpha1.Machine) {
			m.Spec.BMC.Protocol, m.Spec.BMC.Port = "", 623
		}, "spec.bmc: Invalid value: port: set protocol"},
		{"bmc address", func(m *v1alpha1.Machine) { m.Spec.BMC.Address = "https://bmc" }, "spec.bmc.address"},
		{"bmc no secret", func(m *v1alpha1.Machine) {
			m.Spec.BMC.CredentialsSecretRef = v1alpha1.CredentialsSecretRef{}
		}, "spec.bmc.credentialsSecretRef.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := exampleMachine(t)
			m.Name = "invalid"
			tc.change(m)
			_, err := c.machines.Create(t.Context(), toUnstructured(t, m), strict)
			checkInvalid(t, err, tc.want)
		})
	}
	t.Run("unknown field", func(t *testing.T) {
		u := toUnstructured(t, exampleMachine(t))
		u.SetName("invalid")
		if err := unstructured.SetNestedField(u.Object, "blue", "spec", "colour"); err != nil {
			t.Fatal(err)
		}
		_, err := c.machines.Create(t.Context(), u, strict)
		checkInvalid(t, err, `unknown field "spec.colour"`)
	})
}

func testInvalidProfiles(t *testing.T, c *cluster) {
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.Profile)
		want   string
	}{
		{"kernel outside assets", func(p *v1alpha1.Profile) { p.Spec.Kernel = "../vmlinuz" }, "spec.kernel"},
		{"initrd in args", func(p *v1alpha1.Profile) { p.Spec.Args = "initrd=x" }, "spec.args"},
		{"sha256 of another file", func(p *v1alpha1.Profile) {
			p.Spec.SHA256 = map[string]v1alpha1.SHA256{"other": v1alpha1.SHA256(strings.Repeat("a", 64))}
		}, "sha256: every key must be the kernel or an initrd"},
		{"os", func(p *v1alpha1.Profile) { p.Spec.Ignition.OS = "debian" }, "spec.ignition.os"},
		{"cluster dns", func(p *v1alpha1.Profile) { p.Spec.Ignition.ClusterDNS = []v1alpha1.IP{"dns"} }, "spec.ignition.clusterDNS[0]"},
		{"sha512", func(p *v1alpha1.Profile) { p.Spec.Ignition.Kubelet.SHA512 = "abc" }, "spec.ignition.kubelet.sha512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := exampleProfile(t)
			p.Name = "invalid"
			tc.change(p)
			_, err := c.profiles.Create(t.Context(), toUnstructured(t, p), strict)
			checkInvalid(t, err, tc.want)
		})
	}
}

// checkInvalid fails t unless err is the API server refusing a resource
// with want in its message.
func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("create = nil error, want it refused naming %q", want)
	case !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err):
		t.Errorf("create = %v, want Invalid or BadRequest", err)
	case !strings.Contains(err.Error(), want):
		t.Errorf("create = %v, want an error naming %q", err, want)
	}
}

// testStatus checks that the status subresource is the only way to the
// status, and that it never changes the spec.
func testStatus(t *testing.T, c *cluster) {
	m := getMachine(t, c, "worker-1")
	m.Status.State = "ready"
	m.Status.Generation = 2
	m.Status.IP = "192.0.2.21"
	m.Status.NodeRef = &v1alpha1.NodeRef{Name: "worker-1"}
	m.Status.AddEvent(v1alpha1.MachineEvent{Seq: 7, Time: metav1.NowMicro(), Kind: "node-ready"})
	m.Spec.Profile = "changed-through-status"
	if _, err := c.machines.UpdateStatus(t.Context(), toUnstructured(t, m), metav1.UpdateOptions{}); err != nil {
		t.Fatalf("UpdateStatus = %v", err)
	}
	got := getMachine(t, c, "worker-1")
	if got.Spec.Profile != "flatcar-worker" || got.Status.State != "ready" || got.Status.NodeRef == nil {
		t.Errorf("after a status update: profile %q, state %q, node %v; want flatcar-worker, ready, worker-1",
			got.Spec.Profile, got.Status.State, got.Status.NodeRef)
	}

	got.Spec.Labels["rack"] = "r2"
	got.Status.State = "failed"
	if _, err := c.machines.Update(t.Context(), toUnstructured(t, got), metav1.UpdateOptions{}); err != nil {
		t.Fatalf("Update = %v", err)
	}
	again := getMachine(t, c, "worker-1")
	if again.Spec.Labels["rack"] != "r2" || again.Status.State != "ready" {
		t.Errorf("after a spec update: rack %q, state %q; want r2, ready",
			again.Spec.Labels["rack"], again.Status.State)
	}

	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.MachineStatus)
		want   string
	}{
		{"state", func(s *v1alpha1.MachineStatus) { s.State = "sleeping" }, "status.state"},
		{"events", func(s *v1alpha1.MachineStatus) {
			s.RecentEvents = make([]v1alpha1.MachineEvent, v1alpha1.MaxRecentEvents+1)
			for i := range s.RecentEvents {
				s.RecentEvents[i] = v1alpha1.MachineEvent{Time: metav1.NowMicro(), Kind: "dhcp-ack"}
			}
		}, "status.recentEvents: Too many"},
		{"event ip", func(s *v1alpha1.MachineStatus) { s.LastEvent.IP = "::ffff:192.0.2.1" }, "status.lastEvent.ip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := getMachine(t, c, "worker-1")
			tc.change(&m.Status)
			_, err := c.machines.UpdateStatus(t.Context(), toUnstructured(t, m), metav1.UpdateOptions{})
			checkInvalid(t, err, tc.want)
		})
	}
}

func getMachine(t *testing.T, c *cluster, name string) *v1alpha1.Machine {
	t.Helper()
	u, err := c.machines.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var m v1alpha1.Machine
	fromUnstructured(t, u, &m)
	return &m
}

// testTable lists the machines as kubectl get does and checks the
// columns it would print. It runs after testStatus set the status.
func testTable(t *testing.T, c *cluster) {
	table := c.cp.Table(t, "/apis/rackboot.io/v1alpha1/namespaces/"+ns+"/machines")
	var cols []string
	for _, d := range table.ColumnDefinitions {
		cols = append(cols, d.Name)
	}
	wantCols := []string{"Name", "State", "Address", "Node", "Profile", "MAC", "Age"}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("Table columns (-want +got):\n%s", diff)
	}
	if len(table.Rows) != 1 || len(table.Rows[0].Cells) != len(wantCols) {
		t.Fatalf("Table rows = %v, want one of %d cells", table.Rows, len(wantCols))
	}
	cells := table.Rows[0].Cells
	wantCells := []any{"worker-1", "ready", "192.0.2.21", "worker-1", "flatcar-worker", "02:00:00:00:00:01"}
	if diff := cmp.Diff(wantCells, cells[:6]); diff != "" {
		t.Errorf("Table row (-want +got):\n%s", diff)
	}
	if age, _ := cells[6].(string); !regexp.MustCompile(`^[0-9]+[sm]`).MatchString(age) {
		t.Errorf("Table age = %q, want a duration such as 5s", cells[6])
	}
}
