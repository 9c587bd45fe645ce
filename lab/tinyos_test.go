package lab

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestTinyOS boots the tiny test OS directly (-kernel/-initrd) beside
// dnsmasq and a callback receiver, without rackboot: it proves the lab's own
// parts, so that a TestLab failure points at rackboot.
func TestTinyOS(t *testing.T) {
	requireLab(t)
	tos := buildTinyOS(t)
	n := newNetns(t)
	n.addBridge(t)
	startDnsmasq(t, n, bridgeName)
	calls := serveCallbacks(t, n)

	g := guest{
		name: "tinyos", mac: "52:54:00:21:30:09", fw: direct,
		kernel: tos.kernel, initrd: tos.initrd,
		args: "console=ttyS0 panic=-1 rackboot.url=http://" + serverIP + ":8080",
	}
	v := bootGuest(t, n, g, "tap0")
	select {
	case <-v.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("tiny OS still running after 2 min")
	}

	want := []string{"/api/v1/machines/" + g.mac + "/callback"}
	if diff := cmp.Diff(want, calls()); diff != "" {
		t.Errorf("callbacks received (-want +got):\n%s", diff)
	}
	if !v.sawMarker() {
		t.Errorf("console never showed %s", tinyosMsg)
	}
}

// serveCallbacks answers HTTP on the server address inside n and returns a
// function listing the paths POSTed so far.
func serveCallbacks(t *testing.T, n *netns) func() []string {
	t.Helper()
	l, err := n.listen("tcp", serverIP+":8080")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(paths)
	}
}
