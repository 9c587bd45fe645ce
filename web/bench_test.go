package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// fleetSize is the inventory the dashboard must stay quick with.
const fleetSize = 5000

// newFleet returns an admin handler over fleetSize declared machines, each
// with a short boot on its timeline, for the API benchmarks.
func newFleet(b *testing.B) http.Handler {
	b.Helper()
	var y strings.Builder
	y.WriteString("profiles:\n  - name: tiny\n    kernel: tiny/vmlinuz\nmachines:\n")
	for i := range fleetSize {
		fmt.Fprintf(&y, "  - name: node%d\n    macs: [\"02:00:00:%02x:%02x:%02x\"]\n    profile: tiny\n"+
			"    labels: {rack: r%d}\n", i, i>>16, (i>>8)&0xff, i&0xff, i%50)
	}
	cat, err := inventory.ParseCatalog([]byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	store, err := inventory.OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	inv := inventory.New(cat, store)
	kinds := []inventory.EventKind{inventory.EventDHCPOffer, inventory.EventScriptServed,
		inventory.EventKernelFetched, inventory.EventOSCallback}
	for i, m := range cat.Machines() {
		for _, k := range kinds[:1+i%len(kinds)] {
			if _, err := store.Record(m.MACs[0], inventory.Event{Kind: k}); err != nil {
				b.Fatal(err)
			}
		}
	}
	srv, err := NewServer(Config{Addr: "127.0.0.1:0", PublicURL: "http://192.0.2.10:8080",
		AssetsDir: b.TempDir()}, inv, nil)
	if err != nil {
		b.Fatal(err)
	}
	a, err := NewAdmin(srv, AdminConfig{Addr: "127.0.0.1:0", Guard: testGuard{}})
	if err != nil {
		b.Fatal(err)
	}
	return a.Handler()
}

// BenchmarkListMachines is what one page of the dashboard's inventory
// table costs over a fleet of fleetSize machines: the first page, a page
// in the middle, and a filtered search.
func BenchmarkListMachines(b *testing.B) {
	h := newFleet(b)
	for _, q := range []string{
		"limit=50",
		"limit=50&offset=2500",
		"limit=50&state=booting&label=rack=r7",
		"limit=50&q=node49",
	} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/api/v1/machines?"+q, nil)
				r.Header.Set("Authorization", "Bearer "+viewerToken)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d %s", q, w.Code, w.Body)
				}
			}
		})
	}
}
