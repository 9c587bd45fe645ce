//go:build !linux

package tftp

import (
	"fmt"
	"runtime"
	"syscall"
)

// bindToDevice returns nil when iface is empty and otherwise a socket
// Control function that fails: binding a socket to one interface needs
// Linux's SO_BINDTODEVICE.
func bindToDevice(iface string) func(network, address string, c syscall.RawConn) error {
	if iface == "" {
		return nil
	}
	return func(_, _ string, _ syscall.RawConn) error {
		return fmt.Errorf("binding to interface %q: not supported on %s", iface, runtime.GOOS)
	}
}
