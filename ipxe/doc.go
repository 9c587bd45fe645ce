// Package ipxe renders the iPXE scripts rackboot serves and checks them
// before a byte goes out. It knows nothing of HTTP: package web serves what
// it renders.
//
// Four scripts exist. The chain script (served at /boot.ipxe) asks for
// the per-machine script with the booting interface's MAC, the SMBIOS
// UUID, the build architecture and the platform. The per-machine script
// fetches a profile's kernel and initrds and boots them. The local script
// boots an installed machine from its disk (sanboot or exit), so that a
// reboot never reinstalls it. The unknown script tells an undeclared
// machine to wait and ask again.
//
// Every script is rendered into a buffer and passed through Check, a small
// syntax checker for the subset of the iPXE language rackboot writes.
// Inventory strings (asset names, kernel arguments) are validated first so
// that none of them can add an iPXE command or expand an iPXE setting.
//
// Usage:
//
//	s, err := ipxe.New(ipxe.Config{BaseURL: "http://192.0.2.10:8080"})
//	if err != nil { ... }
//	chain, err := s.Chain()
//	script, err := s.Boot(ipxe.Target{MAC: mac, Machine: m, Profile: p, EFI: true})
//	local, err := s.Local(ipxe.Target{MAC: mac, Machine: m, Profile: p, EFI: true})
//
// The scripts target iPXE 1.0.0+git-20190125 (Debian 12's ipxe package)
// and every later iPXE.
package ipxe
