//go:build linux

package tftp

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// bindToDevice returns a socket Control function that ties a socket to the
// network interface iface with SO_BINDTODEVICE (socket(7)), so that it
// receives only what arrives on iface and sends only through it. It
// returns nil when iface is empty.
func bindToDevice(iface string) func(network, address string, c syscall.RawConn) error {
	if iface == "" {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("binding to interface %q: %w", iface, err)
		}
		return nil
	}
}
