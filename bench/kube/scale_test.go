// Package kube measures the Kubernetes store backend at datacenter size:
// an inventory of scaleMachines Machine resources in a real API server.
//
//	go test ./bench/kube -run '^$' -bench . -benchtime 1x
//
// bench/kube/run.sh runs it and prints the figures.
package kube

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rackboot/rackboot/deploy/crds"
	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/internal/kubetest"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
	"github.com/rackboot/rackboot/kubestore"
)

// scaleMachines is the inventory size the issue asks about.
const scaleMachines = 10000

const namespace = "rackboot-scale"

// Requests per run of the latency benchmarks: one op is this many.
const (
	apiSamples  = 200
	dhcpSamples = 2000
)

// fleet is the control plane holding scaleMachines Machines, made once per
// test binary: creating them is the slow part.
var fleet struct {
	once sync.Once
	cp   *kubetest.ControlPlane
	err  error
}

func startFleet(b *testing.B) *kubetest.ControlPlane {
	b.Helper()
	fleet.once.Do(func() {
		fleet.cp = kubetest.Start(b, kubetest.Options{Controllers: []string{"serviceaccount-token"}})
		fleet.err = fillFleet(b.Context(), fleet.cp.Admin)
	})
	if fleet.err != nil {
		b.Fatal(fleet.err)
	}
	return fleet.cp
}

// macOf is machine i's MAC.
func macOf(i int) string {
	return fmt.Sprintf("02:00:00:%02x:%02x:%02x", i>>16, (i>>8)&0xff, i&0xff)
}

// fillFleet installs the CRDs, one profile and scaleMachines machines,
// each with a short boot in its status, as a fleet in service would show.
func fillFleet(ctx context.Context, cfg *rest.Config) error {
	start := time.Now()
	dyn, err := dynamic.NewForConfig(throttleFree(cfg))
	if err != nil {
		return err
	}
	if _, err := crds.Install(ctx, dyn, crds.Options{}); err != nil {
		return fmt.Errorf("installing CRDs: %w", err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return err
	}
	p := v1alpha1.ProfileFromInventory(inventory.Profile{Name: "tiny", Kernel: "tiny/vmlinuz"})
	if err := create(ctx, dyn, v1alpha1.ProfilesResource, p, false); err != nil {
		return err
	}
	err = parallel(16, scaleMachines, func(i int) error {
		m := v1alpha1.MachineFromInventory(inventory.Machine{
			Name: fmt.Sprintf("node%d", i), MACs: []string{macOf(i)}, Profile: "tiny",
			Labels: map[string]string{"rack": fmt.Sprintf("r%d", i%50)},
		}, v1alpha1.CredentialsSecretRef{})
		t0 := time.Unix(1_800_000_000, 0).Add(time.Duration(i) * time.Second)
		for j, k := range []inventory.EventKind{inventory.EventDHCPOffer, inventory.EventScriptServed,
			inventory.EventKernelFetched, inventory.EventOSCallback}[:1+i%4] {
			m.Status.AddEvent(v1alpha1.EventFromInventory(inventory.Event{
				Seq: uint64(t0.UnixMicro()) + uint64(j), Time: t0.Add(time.Duration(j) * time.Second), Kind: k,
			}))
		}
		m.Status.State = v1alpha1.State(inventory.StateBooting)
		m.Status.FirstSeen = &metav1.Time{Time: t0}
		return create(ctx, dyn, v1alpha1.MachinesResource, m, true)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fleet: %d machines created with status in %v\n", scaleMachines,
		time.Since(start).Round(time.Second))
	return nil
}

// create creates obj and, with status, writes its status too.
func create(ctx context.Context, dyn dynamic.Interface, res schema.GroupVersionResource,
	obj k8sruntime.Object, status bool) error {
	raw, err := k8sruntime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: raw}
	u.SetAPIVersion(v1alpha1.GroupVersion.String())
	u.SetKind(map[string]string{"machines": "Machine", "profiles": "Profile"}[res.Resource])
	c := dyn.Resource(res).Namespace(namespace)
	made, err := c.Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating %s %s: %w", res.Resource, u.GetName(), err)
	}
	if !status {
		return nil
	}
	made.Object["status"] = raw["status"]
	if _, err := c.UpdateStatus(ctx, made, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing status of %s: %w", u.GetName(), err)
	}
	return nil
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(workers, n int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// throttleFree lifts client-go's client-side rate limit, which would make
// the set-up, not the server, the measure.
func throttleFree(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 5000, 10000
	return c
}

// openStore starts a kubestore replica over the fleet and waits until its
// caches hold everything.
func openStore(b *testing.B, cfg *rest.Config) (*kubestore.Store, context.CancelFunc) {
	b.Helper()
	st, err := kubestore.New(kubestore.Config{Config: cfg, Namespace: namespace, Replica: "bench",
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	if err := st.WaitSynced(ctx); err != nil {
		cancel()
		b.Fatal(err)
	}
	return st, func() { cancel(); <-done }
}

// BenchmarkScale reports, over scaleMachines machines: how long a replica
// takes from start to synced caches and the heap it then holds; the p50
// and p99 of one page of the machine API (first page, middle page, label
// filter, search) over apiSamples requests; and of a DHCP DISCOVER from
// a declared machine answered with an OFFER over dhcpSamples packets.
// Each DISCOVER is recorded on the machine's timeline, so the packet path
// includes queueing the status write and the Kubernetes Event.
func BenchmarkScale(b *testing.B) {
	cp := startFleet(b)
	b.Run("sync", func(b *testing.B) {
		var (
			slowest time.Duration
			heap    uint64
		)
		for b.Loop() {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			st, stop := openStore(b, cp.Admin)
			took := time.Since(start)
			ms, _, _ := st.StoredMachines()
			if len(ms) != scaleMachines {
				b.Fatalf("synced %d machines, want %d", len(ms), scaleMachines)
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			stop()
			slowest = max(slowest, took)
			heap = max(heap, after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc))
		}
		// The worst run is the figure: a replica's caches are built once.
		b.ReportMetric(slowest.Seconds(), "sync-s")
		b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	})
	st, stop := openStore(b, cp.Admin)
	defer stop()
	inv := newInventory(b, st)
	b.Run("api-list", func(b *testing.B) {
		h := adminHandler(b, inv)
		queries := []string{"limit=50", "limit=50&offset=5000", "limit=50&label=rack=r7", "limit=50&q=node4999"}
		var lat []time.Duration
		for b.Loop() {
			for i := range apiSamples {
				q := queries[i%len(queries)]
				r := httptest.NewRequest(http.MethodGet, "/api/v1/machines?"+q, nil)
				r.Header.Set("Authorization", "Bearer "+benchToken)
				w := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(w, r)
				lat = append(lat, time.Since(t0))
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d %s", q, w.Code, w.Body)
				}
			}
		}
		reportLatency(b, lat, "ms", time.Millisecond)
	})
	b.Run("dhcp-discover", func(b *testing.B) {
		srv := dhcpServer(b, inv)
		src := netip.MustParseAddrPort("0.0.0.0:68")
		var lat []time.Duration
		for b.Loop() {
			for i := range dhcpSamples {
				pkt := discover(i * 7 % scaleMachines)
				t0 := time.Now()
				_, ok := srv.Handle(pkt, src, dhcp.PortServer)
				lat = append(lat, time.Since(t0))
				if !ok {
					b.Fatal("no OFFER to a declared machine")
				}
			}
		}
		reportLatency(b, lat, "µs", time.Microsecond)
	})
}

// reportLatency reports the p50 and p99 of lat in unit.
func reportLatency(b *testing.B, lat []time.Duration, unit string, d time.Duration) {
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(d) }
	b.ReportMetric(at(0.5), "p50-"+unit)
	b.ReportMetric(at(0.99), "p99-"+unit)
}

// discover is a UEFI PXE client's DISCOVER from machine i.
func discover(i int) []byte {
	hw := net.HardwareAddr{2, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hw[2:], uint32(i))
	hw[2] = 0
	m, err := dhcpv4.New(dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003000")),
		dhcpv4.WithGeneric(dhcpv4.OptionClientSystemArchitectureType, []byte{0, 7}),
		dhcpv4.WithGeneric(dhcpv4.OptionClientNetworkInterfaceIdentifier, []byte{1, 3, 0}))
	if err != nil {
		panic(err)
	}
	return m.ToBytes()
}
