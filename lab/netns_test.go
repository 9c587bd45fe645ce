package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Addresses inside every lab namespace. Each test has its own namespace, so
// they never meet another network; testdata/lab uses the same ones.
const (
	bridgeName = "rbbr0"
	serverCIDR = "10.213.0.1/24"
	serverIP   = "10.213.0.1"
	// siteCIDR is the address of the site's own DHCP server (dnsmasq) in
	// the proxy lab.
	siteCIDR = "10.213.0.2/24"
)

var nsCount atomic.Int32

// netns is a network namespace the test created and deletes at cleanup.
type netns struct {
	name string
}

// newNetns creates a namespace named rbl-<pid>-<n>; the first one takes
// the name in $RACKBOOT_LAB_NETNS instead when set (scripts/demo.sh sets it
// so that its trap can remove the namespace if the test is killed).
func newNetns(t testing.TB) *netns {
	t.Helper()
	i := nsCount.Add(1) - 1
	name := os.Getenv("RACKBOOT_LAB_NETNS")
	if name == "" || i > 0 {
		name = fmt.Sprintf("rbl-%d-%d", os.Getpid(), i)
	}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	n := &netns{name: name}
	t.Cleanup(n.delete(t))
	n.ip(t, "link", "set", "lo", "up")
	return n
}

// delete returns the cleanup that kills what still runs in the namespace
// (only processes this test started live there) and removes it.
func (n *netns) delete(t testing.TB) func() {
	return func() {
		out, _ := exec.Command("ip", "netns", "pids", n.name).Output()
		for _, f := range strings.Fields(string(out)) {
			var pid int
			// This process shows up too if a thread of it is inside.
			if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 && pid != os.Getpid() {
				t.Logf("netns %s: killing leftover pid %d", n.name, pid)
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", n.name, err, out)
		}
	}
}

// ip runs `ip -n <ns> args...` and fails the test on error.
func (n *netns) ip(t testing.TB, args ...string) {
	t.Helper()
	full := append([]string{"-n", n.name}, args...)
	if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(full, " "), err, out)
	}
}

// addBridge creates the lab bridge with the server address.
func (n *netns) addBridge(t testing.TB) {
	t.Helper()
	n.ip(t, "link", "add", bridgeName, "type", "bridge", "forward_delay", "0")
	n.ip(t, "addr", "add", serverCIDR, "dev", bridgeName)
	n.ip(t, "link", "set", bridgeName, "up")
}

// addHost connects namespace h to n's bridge as another host of the lab
// network: a veth pair whose end in h is called iface and has address cidr.
func (n *netns) addHost(t testing.TB, h *netns, iface, cidr string) {
	t.Helper()
	port := "v" + iface
	n.ip(t, "link", "add", port, "type", "veth", "peer", "name", iface, "netns", h.name)
	n.ip(t, "link", "set", port, "master", bridgeName, "up")
	h.ip(t, "addr", "add", cidr, "dev", iface)
	h.ip(t, "link", "set", iface, "up")
}

// addTap creates a tap device on the bridge for one guest.
func (n *netns) addTap(t testing.TB, tap string) {
	t.Helper()
	n.ip(t, "tuntap", "add", tap, "mode", "tap")
	n.ip(t, "link", "set", tap, "master", bridgeName, "up")
}

// command returns a command that runs inside the namespace. `ip netns
// exec` execs the program, so the command's pid is the program's.
func (n *netns) command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.name, name}, args...)...)
}

// inside runs f on an OS thread that has joined the namespace, so sockets
// f opens belong to it. The thread goes back to its own namespace after;
// if it cannot, it stays locked and dies with its goroutine.
func (n *netns) inside(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("opening own netns: %w", err)
			return
		}
		defer unix.Close(home)
		if err := n.join(); err != nil {
			errc <- err
			return
		}
		errc <- f()
		if unix.Setns(home, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}

// join moves the calling thread into the namespace.
func (n *netns) join() error {
	fd, err := unix.Open("/run/netns/"+n.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening netns %s: %w", n.name, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("joining netns %s: %w", n.name, err)
	}
	return nil
}

// dialContext dials from inside the namespace.
func (n *netns) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.inside(func() error {
		var err error
		c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// listen opens a listener inside the namespace.
func (n *netns) listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.inside(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// httpClient returns a client whose connections start inside the namespace.
func (n *netns) httpClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: n.dialContext, DisableKeepAlives: true},
	}
}
