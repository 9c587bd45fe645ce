package kube

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/rackboot/rackboot/auth"
	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kubestore"
	"github.com/rackboot/rackboot/web"
)

// benchToken is the viewer token the API benchmark presents.
var benchToken = func() string {
	tok, err := auth.NewToken()
	if err != nil {
		panic(err)
	}
	return tok
}()

// newInventory joins the store's machines with its profiles, as serve
// does with the Kubernetes store.
func newInventory(b *testing.B, st *kubestore.Store) *inventory.Inventory {
	b.Helper()
	profiles, errs := st.Profiles()
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	cat, err := inventory.NewCatalog(profiles, nil)
	if err != nil {
		b.Fatal(err)
	}
	inv := inventory.New(cat, st)
	if errs := inv.Conflicts(); len(errs) > 0 {
		b.Fatal(errs)
	}
	if n := len(inv.Catalog().Machines()); n != scaleMachines {
		b.Fatalf("catalog holds %d machines, want %d", n, scaleMachines)
	}
	return inv
}

// adminHandler is the admin listener's handler over inv, with benchToken
// as a viewer.
func adminHandler(b *testing.B, inv *inventory.Inventory) http.Handler {
	b.Helper()
	ring, err := auth.NewKeyring([]auth.Entry{{Name: "bench", Role: auth.Viewer, Hash: auth.Hash(benchToken)}})
	if err != nil {
		b.Fatal(err)
	}
	guard, err := auth.NewGuard(auth.Config{Keyring: ring})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: "http://192.0.2.10:8080",
		AssetsDir: b.TempDir()}, inv, nil)
	if err != nil {
		b.Fatal(err)
	}
	a, err := web.NewAdmin(srv, web.AdminConfig{Addr: "127.0.0.1:0", Guard: guard})
	if err != nil {
		b.Fatal(err)
	}
	return a.Handler()
}

// dhcpServer is an authoritative DHCP server over inv; its answers to
// DISCOVERs come from memory, as they must.
func dhcpServer(b *testing.B, inv *inventory.Inventory) *dhcp.Server {
	b.Helper()
	srv, err := dhcp.NewServer(dhcp.Config{
		Interface: "lo",
		Mode:      dhcp.ModeAuthoritative,
		ServerIP:  netip.MustParseAddr("10.0.0.1"),
		HTTPURL:   "http://10.0.0.1:8080",
		Pools: []dhcp.Pool{{
			Subnet: netip.MustParsePrefix("10.0.0.0/16"),
			Start:  netip.MustParseAddr("10.0.1.0"),
			End:    netip.MustParseAddr("10.0.255.250"),
		}},
	}, inv, nil)
	if err != nil {
		b.Fatal(err)
	}
	return srv
}
