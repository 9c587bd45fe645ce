// Package dhcp is rackboot's DHCPv4 server for network boot.
//
// A Server listens on exactly one interface (SO_BINDTODEVICE) and runs in one
// of two modes:
//
//   - proxy (the default) answers only network-boot clients, on UDP 67 and
//     4011, and never hands out addresses: it sits beside a site's own DHCP
//     server as a ProxyDHCP server (PXE 2.1, section 2.2.5).
//   - authoritative hands out addresses from configured pools and per-machine
//     reservations, with durable leases (RFC 2131), and boot parameters to
//     network-boot clients.
//
// Every client is classified (Classify) from option 93, option 60, iPXE's
// user class and option 175 and an operator's per-machine override. Firmware
// gets a boot loader by TFTP, UEFI HTTP Boot firmware an absolute URL of the
// loader, and iPXE the URL of rackboot's boot script, so the chain never
// loops.
//
// Per-packet detail is logged at Debug. The reasons a client goes unserved
// reach an operator at Info level: a full pool, a relay or network no pool
// serves, a missing loader, busy workers and failed store writes at Warn,
// an unknown architecture at Info; each once a minute per reason and
// network, architecture or MAC, with the count held back in the next line.
//
// The packet logic (Server.Handle) is separate from the sockets (Server.Run),
// so it can be driven directly:
//
//	srv, err := dhcp.NewServer(dhcp.Config{
//		Interface: "eth1",
//		ServerIP:  netip.MustParseAddr("192.0.2.10"),
//		HTTPURL:   "http://192.0.2.10:8080",
//	}, inv, logger)
//	if err != nil {
//		return err
//	}
//	return srv.Run(ctx)
package dhcp
