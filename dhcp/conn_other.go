//go:build !linux

package dhcp

import (
	"errors"
	"io"
	"net"
)

// listen needs SO_BINDTODEVICE, which only Linux offers.
func listen(iface string, port int) (*net.UDPConn, error) {
	return nil, errors.New("serving one interface only (SO_BINDTODEVICE) needs Linux")
}

// claimInterface is a no-op where listen cannot work anyway.
func claimInterface(string) (io.Closer, error) { return io.NopCloser(nil), nil }
