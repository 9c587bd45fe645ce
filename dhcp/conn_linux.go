package dhcp

import (
	"fmt"
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
