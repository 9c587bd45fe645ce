package v1alpha1_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

var equateAddrs = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

var creds = v1alpha1.CredentialsSecretRef{
	Name: "worker-1-bmc", Namespace: "secrets", UserKey: "user", PasswordKey: "pass"}

// fullMachine sets every field inventory.Machine has but those a cluster
// cannot hold (see allSet).
func fullMachine() inventory.Machine {
	return inventory.Machine{
		Name:    "worker-1",
		MACs:    []string{"02:00:00:00:00:01", "02:00:00:00:00:02"},
		Profile: "flatcar-worker",
		Labels:  map[string]string{"rack": "r1"},
		Address: netip.MustParseAddr("192.0.2.21"),
		Arch:    inventory.ArchX64EFI,
		BMC: &inventory.BMC{Address: "bmc-1.example.net", Port: 8443,
			Protocol: inventory.BMCRedfish, CAFile: "/etc/rackboot/bmc-ca.pem",
			InsecureSkipVerify: true, BootMode: inventory.BootLegacy,
			CredentialsSecret: &inventory.SecretRef{Namespace: "secrets",
				Name: "worker-1-bmc", UserKey: "user", PasswordKey: "pass"}},
	}
}

// fullProfile sets every field of inventory.Profile.
func fullProfile() inventory.Profile {
	sum := strings.Repeat("ab", 32)
	sha512 := strings.Repeat("cd", 64)
	return inventory.Profile{
		Name:      "flatcar-worker",
		Kernel:    "flatcar/vmlinuz",
		Initrds:   []string{"flatcar/initrd.cpio.gz", "extra/site.cpio"},
		Args:      "flatcar.first_boot=1 console=ttyS0",
		SHA256:    map[string]string{"flatcar/vmlinuz": sum},
		LocalBoot: inventory.LocalBootSanboot,
		Ignition: &inventory.IgnitionSettings{
			OS:                inventory.OSFlatcar,
			SpecVersion:       inventory.SpecVersion34,
			KubernetesVersion: "v1.34.2",
			CRIOVersion:       "v1.34.1",
			APIServer:         "https://192.0.2.5:6443",
			ClusterCAFile:     "/etc/rackboot/ca.crt",
			ClusterDNS:        []netip.Addr{netip.MustParseAddr("10.96.0.10"), netip.MustParseAddr("fd00::a")},
			ClusterDomain:     "cluster.example",
			KubeProxyMode:     inventory.KubeProxyIPVS,
			KubeProxyImage:    "registry.example/kube-proxy:v1.34.2",
			ClusterCIDR:       netip.MustParsePrefix("10.244.0.0/16"),
			NodeLabels:        map[string]string{"node.kubernetes.io/pool": "metal"},
			Taints:            []inventory.Taint{{Key: "dedicated", Value: "metal", Effect: "NoSchedule"}},
			SSHAuthorizedKeys: []string{"ssh-ed25519 AAAAC3Nz admin@example"},
			PauseImage:        "registry.example/pause:3.10",
			RegistryMirrors: []inventory.RegistryMirror{{Registry: "docker.io",
				Mirrors: []string{"mirror.example:5000"}, Insecure: true}},
			Butane:         "variant: flatcar\n",
			Kubelet:        inventory.Artifact{Asset: "kubernetes/kubelet", SHA512: sha512},
			CRIO:           inventory.Artifact{Asset: "crio/crio.raw", SHA512: sha512},
			CRIOSysextName: "crio-v1",
		},
	}
}

// noCluster are the inventory fields a cluster resource does not hold:
// the source is the backend's to say, the credentials are in a Secret
// (BMC.CredentialsSecret).
var noCluster = []string{"Source", "BMC.CredentialsFile", "BMC.CredentialsEnv"}

// allSet fails t for every zero field of v outside skip, so that the
// fixtures keep up with fields added to the types.
func allSet(t *testing.T, v any, skip ...string) {
	t.Helper()
	walkFields(reflect.ValueOf(v), "", func(path string, f reflect.Value) {
		if f.IsZero() && !contains(skip, path) {
			t.Errorf("fixture %T leaves %s zero: set it so that conversions are checked", v, path)
		}
	})
}

// walkFields calls leaf for every leaf field under v, with its dotted
// path; it follows pointers, the first element of slices and one value
// of maps.
func walkFields(v reflect.Value, path string, leaf func(string, reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkFields(v.Elem(), path, leaf)
			return
		}
	case reflect.Slice:
		if v.Len() > 0 {
			walkFields(v.Index(0), path, leaf)
			return
		}
	case reflect.Map:
		if it := v.MapRange(); it.Next() {
			walkFields(it.Value(), path, leaf)
			return
		}
	case reflect.Struct:
		if hasExported(v.Type()) {
			for i := range v.NumField() {
				if f := v.Type().Field(i); f.IsExported() {
					walkFields(v.Field(i), join(path, f.Name), leaf)
				}
			}
			return
		}
	}
	leaf(path, v)
}

func hasExported(t reflect.Type) bool {
	if t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[metav1.Time]() {
		return false
	}
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			return true
		}
	}
	return false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestMachineFromInventoryRoundTrip(t *testing.T) {
	full := fullMachine()
	allSet(t, full, noCluster...)
	noBMC := full
	noBMC.BMC = nil
	minimal := inventory.Machine{Name: "m", MACs: []string{"02:00:00:00:00:09"}, Profile: "p"}
	for name, in := range map[string]inventory.Machine{
		"full": full, "no bmc": noBMC, "minimal": minimal,
	} {
		t.Run(name, func(t *testing.T) {
			m := v1alpha1.MachineFromInventory(in, creds)
			got, err := m.Inventory()
			if err != nil {
				t.Fatalf("Inventory() = %v", err)
			}
			if diff := cmp.Diff(in, got, equateAddrs); diff != "" {
				t.Errorf("Inventory(MachineFromInventory(m)) differs from m (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMachineFromInventoryCredentials checks that an inventory BMC's
// credentials file or variable never reaches the resource: the Secret
// given stands in for them.
func TestMachineFromInventoryCredentials(t *testing.T) {
	in := fullMachine()
	in.BMC.CredentialsSecret = nil
	in.BMC.CredentialsFile = "/etc/rackboot/bmc-1"
	in.BMC.CredentialsEnv = "BMC_1"
	given := v1alpha1.CredentialsSecretRef{Name: "given"}
	m := v1alpha1.MachineFromInventory(in, given)
	if got := m.Spec.BMC.CredentialsSecretRef; got != given {
		t.Errorf("credentialsSecretRef = %+v, want %+v", got, given)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{in.BMC.CredentialsFile, in.BMC.CredentialsEnv} {
		if strings.Contains(string(data), leak) {
			t.Errorf("Machine JSON holds %q:\n%s", leak, data)
		}
	}
	out, err := m.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	if out.BMC.CredentialsFile != "" || out.BMC.CredentialsEnv != "" {
		t.Errorf("Inventory().BMC = file %q, env %q; want neither", out.BMC.CredentialsFile, out.BMC.CredentialsEnv)
	}
	if diff := cmp.Diff(&inventory.SecretRef{Name: "given"}, out.BMC.CredentialsSecret); diff != "" {
		t.Errorf("Inventory().BMC.CredentialsSecret (-want +got):\n%s", diff)
	}
}

// TestMachineSecretRef checks that a BMC's Secret goes both ways as it
// is, defaults left to the API server and the reader, and that it wins
// over the Secret given for file and variable credentials.
func TestMachineSecretRef(t *testing.T) {
	for _, tc := range []struct {
		name string
		ref  inventory.SecretRef
	}{
		{"name only", inventory.SecretRef{Name: "bmc-1"}},
		{"everything", inventory.SecretRef{Namespace: "lab", Name: "bmc-1", UserKey: "u", PasswordKey: "p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fullMachine()
			in.BMC.CredentialsSecret = &tc.ref
			m := v1alpha1.MachineFromInventory(in, creds)
			want := v1alpha1.CredentialsSecretRef{Namespace: tc.ref.Namespace, Name: tc.ref.Name,
				UserKey: tc.ref.UserKey, PasswordKey: tc.ref.PasswordKey}
			if got := m.Spec.BMC.CredentialsSecretRef; got != want {
				t.Errorf("credentialsSecretRef = %+v, want %+v", got, want)
			}
			out, err := m.Inventory()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tc.ref, out.BMC.CredentialsSecret); diff != "" {
				t.Errorf("Inventory().BMC.CredentialsSecret (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMachineToInventoryRoundTrip goes the other way, from a resource
// through inventory and back, and through JSON.
func TestMachineToInventoryRoundTrip(t *testing.T) {
	want := v1alpha1.MachineFromInventory(fullMachine(), creds)
	allSet(t, want.Spec)
	in, err := want.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, v1alpha1.MachineFromInventory(in, creds)); diff != "" {
		t.Errorf("MachineFromInventory(m.Inventory()) differs from m (-want +got):\n%s", diff)
	}
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got v1alpha1.Machine
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("Machine through JSON (-want +got):\n%s", diff)
	}
}

func TestMachineInventoryCanonicalMACs(t *testing.T) {
	m := v1alpha1.Machine{Spec: v1alpha1.MachineSpec{MACs: []v1alpha1.MAC{"02-00-00-00-00-AB"}}}
	got, err := m.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"02:00:00:00:00:ab"}; !cmp.Equal(got.MACs, want) {
		t.Errorf("Inventory().MACs = %q, want %q", got.MACs, want)
	}
}

func TestInventoryErrors(t *testing.T) {
	machine := func(f func(*v1alpha1.MachineSpec)) func() error {
		m := v1alpha1.MachineFromInventory(fullMachine(), creds)
		f(&m.Spec)
		return func() error { _, err := m.Inventory(); return err }
	}
	profile := func(f func(*v1alpha1.IgnitionSettings)) func() error {
		p := v1alpha1.ProfileFromInventory(fullProfile())
		f(p.Spec.Ignition)
		return func() error { _, err := p.Inventory(); return err }
	}
	for _, tc := range []struct {
		name string
		conv func() error
		want string
	}{
		{"short mac", machine(func(s *v1alpha1.MachineSpec) { s.MACs[1] = "02:00:00:00:01" }), "spec.macs[1]: "},
		{"ipv6 address", machine(func(s *v1alpha1.MachineSpec) { s.Address = "2001:db8::1" }), "spec.address: "},
		{"bad address", machine(func(s *v1alpha1.MachineSpec) { s.Address = "192.0.2.256" }), "spec.address: "},
		{"bad dns", profile(func(s *v1alpha1.IgnitionSettings) { s.ClusterDNS[1] = "dns" }), "spec.ignition.clusterDNS[1]: "},
		{"bad cidr", profile(func(s *v1alpha1.IgnitionSettings) { s.ClusterCIDR = "10.0.0.0/33" }), "spec.ignition.clusterCIDR: "},
		{"event ip", func() error { _, err := v1alpha1.MachineEvent{IP: "x"}.Inventory(); return err }, "ip: "},
		{"lease ip", func() error { _, err := (&v1alpha1.Lease{IP: "fd00::1"}).Inventory("m"); return err }, "ip: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.conv()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("conversion error = %v, want one starting %q", err, tc.want)
			}
		})
	}
}

func TestProfileRoundTrip(t *testing.T) {
	full := fullProfile()
	allSet(t, full)
	minimal := inventory.Profile{Name: "p", Kernel: "vmlinuz"}
	for name, in := range map[string]inventory.Profile{"full": full, "minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			p := v1alpha1.ProfileFromInventory(in)
			got, err := p.Inventory()
			if err != nil {
				t.Fatalf("Inventory() = %v", err)
			}
			if diff := cmp.Diff(in, got, equateAddrs); diff != "" {
				t.Errorf("Inventory(ProfileFromInventory(p)) differs from p (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(p, v1alpha1.ProfileFromInventory(got)); diff != "" {
				t.Errorf("ProfileFromInventory(p.Inventory()) differs from p (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExamplesMakeACatalog decodes the examples docs/kubernetes.md shows
// strictly into the types, and checks that the inventory they convert to
// passes the catalog's own validation.
func TestExamplesMakeACatalog(t *testing.T) {
	var p v1alpha1.Profile
	var m v1alpha1.Machine
	readStrict(t, "testdata/profile.yaml", &p)
	readStrict(t, "testdata/machine.yaml", &m)
	ip, err := p.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	im, err := m.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	if want := (inventory.SecretRef{Name: "worker-1-bmc"}); im.BMC.CredentialsSecret == nil ||
		*im.BMC.CredentialsSecret != want {
		t.Errorf("Inventory().BMC.CredentialsSecret = %+v, want %+v", im.BMC.CredentialsSecret, want)
	}
	data, err := yaml.Marshal(inventory.File{Profiles: []inventory.Profile{ip}, Machines: []inventory.Machine{im}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inventory.ParseCatalog(data); err != nil {
		t.Errorf("ParseCatalog(converted examples) = %v\n%s", err, data)
	}
}

func readStrict(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestEventRoundTrip(t *testing.T) {
	in := inventory.Event{Seq: 42, Time: time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC),
		Kind: inventory.EventDHCPAck, IP: netip.MustParseAddr("192.0.2.21"), Detail: "x64-efi"}
	e := v1alpha1.EventFromInventory(in)
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back v1alpha1.MachineEvent
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	got, err := back.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got, equateAddrs); diff != "" {
		t.Errorf("event through MachineEvent and JSON (-want +got):\n%s", diff)
	}
}

func TestEventFromInventoryDetail(t *testing.T) {
	for _, tc := range []struct {
		name, detail string
		want         int
	}{
		{"short", "kernel", 6},
		{"exact", strings.Repeat("a", v1alpha1.MaxEventDetail), v1alpha1.MaxEventDetail},
		{"long", strings.Repeat("a", 600), v1alpha1.MaxEventDetail},
		{"split rune", strings.Repeat("a", v1alpha1.MaxEventDetail-1) + "é", v1alpha1.MaxEventDetail - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := v1alpha1.EventFromInventory(inventory.Event{Detail: tc.detail}).Detail
			if len(got) != tc.want || !strings.HasPrefix(tc.detail, got) {
				t.Errorf("Detail of a %d-byte detail = %d bytes, want its first %d", len(tc.detail), len(got), tc.want)
			}
		})
	}
}

func TestAddEventKeepsTheNewest(t *testing.T) {
	var s v1alpha1.MachineStatus
	for i := 1; i <= v1alpha1.MaxRecentEvents+5; i++ {
		s.AddEvent(v1alpha1.MachineEvent{Seq: int64(i), Kind: "dhcp-ack"})
	}
	if n := len(s.RecentEvents); n != v1alpha1.MaxRecentEvents {
		t.Fatalf("len(RecentEvents) = %d, want %d", n, v1alpha1.MaxRecentEvents)
	}
	first, last := s.RecentEvents[0].Seq, s.RecentEvents[len(s.RecentEvents)-1].Seq
	if first != 6 || last != 25 || s.LastEvent.Seq != 25 {
		t.Errorf("RecentEvents = seq %d..%d, LastEvent %d; want 6..25, 25", first, last, s.LastEvent.Seq)
	}
}

func TestLeaseRoundTrip(t *testing.T) {
	in := inventory.Lease{MAC: "02:00:00:00:00:01", IP: netip.MustParseAddr("192.0.2.50"),
		Expiry: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC), Hostname: "worker-1"}
	got, err := v1alpha1.LeaseFromInventory(in).Inventory(in.MAC)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got, equateAddrs); diff != "" {
		t.Errorf("lease round trip (-want +got):\n%s", diff)
	}
}
