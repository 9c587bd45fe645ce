package dhcp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// listen opens a UDP socket on port of every address, bound to the device
// iface (SO_BINDTODEVICE, socket(7)) so that it sees packets of that
// interface only, with SO_BROADCAST for replies to 255.255.255.255.
// SO_REUSEADDR lets it share the port with servers bound to other devices.
func listen(iface string, port int) (*net.UDPConn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("creating socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("dhcp-%s-%d", iface, port))
	defer f.Close() // net.FilePacketConn works on a duplicate
	for _, opt := range []int{unix.SO_BROADCAST, unix.SO_REUSEADDR} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			return nil, fmt.Errorf("setting socket option %d: %w", opt, err)
		}
	}
	if err := unix.BindToDevice(fd, iface); err != nil {
		return nil, fmt.Errorf("binding to interface %q: %w", iface, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		return nil, fmt.Errorf("binding port %d: %w", port, err)
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("wrapping socket: %w", err)
	}
	return pc.(*net.UDPConn), nil
}

// claimInterface makes sure no other rackboot serves DHCP on iface in this
// network namespace: SO_REUSEADDR would let a second one bind the same
// ports and answer beside the first from its own leases. The claim is an
// abstract Unix socket (unix(7)), which belongs to the network namespace
// and goes with the process, however it ends. Close the returned closer
// to give the claim back.
func claimInterface(iface string) (io.Closer, error) {
	ln, err := net.Listen("unix", "@rackboot/dhcp/"+iface)
	if errors.Is(err, unix.EADDRINUSE) {
		return nil, fmt.Errorf("another rackboot already serves DHCP on %s (two would hand out addresses from separate leases)", iface)
	}
	if err != nil {
		return nil, fmt.Errorf("claiming interface %s: %w", iface, err)
	}
	return ln, nil
}
