package web

import (
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/inventory"
)

func TestAssetFetchEvents(t *testing.T) {
	dhcp := inventory.EventDHCPOffer
	tests := []struct {
		name       string
		method     string
		target     string
		rangeHdr   string
		wantCode   int
		wantBody   []byte
		wantEvents []inventory.EventKind
	}{
		{"whole kernel", "GET", "/assets/tiny/vmlinuz", "", 200, kernel,
			[]inventory.EventKind{dhcp, inventory.EventKernelFetched}},
		{"whole initrd", "GET", "/assets/tiny/initrd.gz", "", 200, initrd,
			[]inventory.EventKind{dhcp, inventory.EventInitrdFetched}},
		{"first range", "GET", "/assets/tiny/vmlinuz", "bytes=0-99", 206, kernel[:100],
			[]inventory.EventKind{dhcp}},
		{"middle range", "GET", "/assets/tiny/vmlinuz", "bytes=100-199", 206, kernel[100:200],
			[]inventory.EventKind{dhcp}},
		{"final range", "GET", "/assets/tiny/vmlinuz", "bytes=900-999", 206, kernel[900:],
			[]inventory.EventKind{dhcp, inventory.EventKernelFetched}},
		{"open range to the end", "GET", "/assets/tiny/vmlinuz", "bytes=500-", 206, kernel[500:],
			[]inventory.EventKind{dhcp, inventory.EventKernelFetched}},
		{"suffix range", "GET", "/assets/tiny/vmlinuz", "bytes=-10", 206, kernel[990:],
			[]inventory.EventKind{dhcp, inventory.EventKernelFetched}},
		{"two ranges", "GET", "/assets/tiny/vmlinuz", "bytes=0-9,990-999", 206, nil,
			[]inventory.EventKind{dhcp}},
		{"unsatisfiable", "GET", "/assets/tiny/vmlinuz", "bytes=5000-", 416, nil,
			[]inventory.EventKind{dhcp}},
		{"head", "HEAD", "/assets/tiny/vmlinuz", "", 200, nil,
			[]inventory.EventKind{dhcp}},
		{"symlink inside", "GET", "/assets/alias", "", 200, kernel,
			[]inventory.EventKind{dhcp}},
		{"not a profile asset", "GET", "/assets/notes.txt", "", 200, []byte("not a profile asset"),
			[]inventory.EventKind{dhcp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.seen(t, mac1, ip1)
			rq := request{method: tt.method, target: tt.target, header: http.Header{}}
			if tt.rangeHdr != "" {
				rq.header.Set("Range", tt.rangeHdr)
			}
			w := e.do(t, rq)
			if w.Code != tt.wantCode {
				t.Fatalf("%s %s (Range %q) = %d, want %d", tt.method, tt.target, tt.rangeHdr, w.Code, tt.wantCode)
			}
			if tt.wantBody != nil && !cmp.Equal(w.Body.Bytes(), tt.wantBody) {
				t.Errorf("body = %d bytes, want %d bytes of the file", w.Body.Len(), len(tt.wantBody))
			}
			if diff := cmp.Diff(tt.wantEvents, e.kinds(t, mac1)); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssetHeaders(t *testing.T) {
	e := newEnv(t)
	w := e.do(t, request{method: http.MethodHead, target: "/assets/tiny/vmlinuz"})
	want := map[string]string{
		"Content-Type":   "application/octet-stream",
		"Content-Length": strconv.Itoa(len(kernel)),
		"Accept-Ranges":  "bytes",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("HEAD header %s = %q, want %q", k, got, v)
		}
	}
	if w.Body.Len() != 0 {
		t.Errorf("HEAD body = %d bytes, want 0", w.Body.Len())
	}
}

// A fetch from an address no machine is known by is served and recorded
// nowhere.
func TestAssetFromUnknownAddress(t *testing.T) {
	e := newEnv(t)
	w := e.do(t, request{target: "/assets/tiny/vmlinuz", remote: "10.99.0.77:1234"})
	if w.Code != http.StatusOK || w.Body.Len() != len(kernel) {
		t.Fatalf("GET = %d, %d bytes, want 200, %d bytes", w.Code, w.Body.Len(), len(kernel))
	}
	if n := e.statusCount(t); n != 0 {
		t.Errorf("the store knows %d machines, want 0", n)
	}
}

func TestAssetPathsRefused(t *testing.T) {
	targets := []string{
		"/assets/",
		"/assets/tiny",
		"/assets/tiny/",
		"/assets/missing",
		"/assets/../go.mod",
		"/assets/tiny/../../go.mod",
		"/assets/%2e%2e/go.mod",
		"/assets/..%2fgo.mod",
		"/assets//etc/passwd",
		"/assets/./tiny/vmlinuz",
		"/assets/escape",
		"/assets/escape-rel",
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			e := newEnv(t)
			w := e.get(t, target)
			if w.Code != http.StatusNotFound {
				t.Errorf("GET %s = %d %q, want 404", target, w.Code, w.Body)
			}
		})
	}
}

func TestLoaders(t *testing.T) {
	tests := []struct {
		target   string
		wantCode int
		wantBody string
	}{
		{"/loaders/ipxe.efi", 200, "first"},
		{"/loaders/snponly.efi", 200, "snp"},
		{"/loaders/undionly.kpxe", 404, ""},
		{"/loaders/..%2Fipxe.efi", 404, ""},
		{"/loaders/..", 404, ""},
		{"/loaders/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			e := newEnv(t)
			e.seen(t, mac2, ip1)
			w := e.get(t, tt.target)
			if w.Code != tt.wantCode {
				t.Fatalf("GET %s = %d, want %d", tt.target, w.Code, tt.wantCode)
			}
			want := []inventory.EventKind{inventory.EventDHCPOffer}
			if tt.wantCode == 200 {
				if w.Body.String() != tt.wantBody {
					t.Errorf("GET %s body = %q, want %q", tt.target, w.Body, tt.wantBody)
				}
				want = append(want, inventory.EventLoaderServed)
			}
			if diff := cmp.Diff(want, e.kinds(t, mac2)); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPinnedLoaders checks Config.LoaderFiles: a loader that is a link out
// of its directory (Debian's /usr/lib/ipxe/ipxe.efi is one) is served under
// its pinned name, after the loader directories.
func TestPinnedLoaders(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "real-ipxe.efi")
	writeFile(t, outside, []byte("pinned loader"))
	link := filepath.Join(t.TempDir(), "ipxe-x.efi")
	symlink(t, outside, link)
	e := newEnv(t)
	e.srv.cfg.LoaderFiles = map[string]string{"ipxe-x.efi": link, "ipxe.efi": link}
	e.seen(t, mac2, ip1)
	tests := []struct{ target, want string }{
		{"/loaders/ipxe-x.efi", "pinned loader"},
		{"/loaders/ipxe.efi", "first"}, // the directories come first
	}
	for _, tt := range tests {
		w := e.get(t, tt.target)
		if w.Code != 200 || w.Body.String() != tt.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tt.target, w.Code, w.Body, tt.want)
		}
	}
	if w := e.get(t, "/loaders/real-ipxe.efi"); w.Code != 404 {
		t.Errorf("GET of an unpinned name = %d, want 404", w.Code)
	}
}
