// Package tftp is rackboot's read-only TFTP server: it hands boot loaders
// (iPXE's undionly.kpxe, ipxe.efi, ...) to PXE firmware.
//
// It implements read requests only (RFC 1350) in octet and netascii mode,
// with option negotiation (RFC 2347) for blksize (RFC 2348), tsize and
// timeout (RFC 2349) and windowsize (RFC 7440). Write requests are refused
// with ERROR 2. In netascii mode a file is converted as RFC 764 says: LF
// becomes CR LF and CR becomes CR NUL, so every file can be sent and a
// client that decodes netascii gets it back byte for byte.
//
// File names are cleaned for firmware habits (backslashes become slashes,
// leading separators are dropped) and looked up in several root
// directories in order, through os.Root, so that neither ".." nor a
// symbolic link can reach outside a root.
//
// Each transfer runs on its own socket and goroutine, up to
// Config.MaxTransfers at once and Config.MaxPerClient from one address, so
// that one host cannot lock the others out. A transfer that ends well
// records an inventory.EventTFTPServed event through a Recorder. EDK2's
// size probe (an RRQ with tsize, ended by the client with an ERROR after
// the OACK) is counted in Stats.Probes and recorded nowhere.
//
// Each transfer's start and end are logged at Info; its progress at Debug,
// one line per 1,024 blocks. Warnings a client can provoke (a path outside
// the roots, its transfer limit) go out once a minute per client, those
// about the server's limits once a minute, the repeats at Debug.
//
// rackboot does not use github.com/pin/tftp/v3 as its server, although its
// tests use it as one of the real clients: v3.2.0 lacks RFC 7440 windowsize
// and the RFC 2349 timeout option, and it picks the options of its OACK
// itself, while UEFI firmware needs exact control over the OACK (an EDK2
// size probe must get back exactly the options it asked for, and an RRQ
// without options must get DATA 1 at once). A read-only server is small
// enough to own.
//
// Usage:
//
//	srv, err := tftp.NewServer(tftp.Config{
//		Addr:      ":69",
//		Interface: "eth1",
//		Roots:     []string{"/srv/tftp", "/usr/lib/ipxe"},
//	}, inv, logger)
//	if err != nil {
//		return err
//	}
//	return srv.Run(ctx) // blocks until ctx ends
package tftp
