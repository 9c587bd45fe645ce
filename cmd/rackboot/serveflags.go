package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/join"
)

// serveSettings holds every setting of "rackboot serve". docs/config.md
// documents each one; keep the two in step.
type serveSettings struct {
	Config    string
	Interface string
	Mode      string
	ServerIP  netip.Addr
	HTTPAddr  string
	HTTPURL   string
	AdminAddr string
	// AdminCert and AdminKey are the operator's admin certificate; empty
	// makes a self-signed one in DataDir.
	AdminCert  string
	AdminKey   string
	TokensFile string
	// TokensEnv is RACKBOOT_TOKENS: token entries added to the file's.
	TokensEnv string
	TFTPAddr  string
	IPXEDir   string
	TFTPRoot  string
	AssetsDir string
	Inventory string
	DataDir   string

	// Store is where the state lives: the embedded store in DataDir or
	// a Kubernetes API server (see storeSettings).
	Store storeSettings

	Subnet    netip.Prefix
	PoolStart netip.Addr
	PoolEnd   netip.Addr
	Router    netip.Addr
	DNS       addrList
	LeaseTime time.Duration

	Loaders map[inventory.Arch]*string

	BMCTimeout       time.Duration
	BMCMaxConcurrent int

	Provision provisionSettings

	Kubeconfig       string
	TokenTTL         time.Duration
	KubeProxyCertTTL time.Duration

	LogLevel  string
	LogFormat string
}

// loaderDefaults are the boot loader files per architecture; Debian's ipxe
// package ships the x86 ones in /usr/lib/ipxe.
var loaderDefaults = []struct {
	arch inventory.Arch
	file string
}{
	{inventory.ArchBIOS, "undionly.kpxe"},
	{inventory.ArchIA32EFI, "ipxe-i386.efi"},
	{inventory.ArchX64EFI, "ipxe.efi"},
	{inventory.ArchARM32EFI, "ipxe-arm32.efi"},
	{inventory.ArchARM64EFI, "ipxe-arm64.efi"},
	{inventory.ArchX86HTTP, "ipxe-i386.efi"},
	{inventory.ArchX64HTTP, "ipxe.efi"},
	{inventory.ArchARM64HTTP, "ipxe-arm64.efi"},
}

func newServeFlags(s *serveSettings) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&s.Config, "config", "", "YAML settings `file` (keys are these flag names)")
	fs.StringVar(&s.Interface, "interface", "", "network `interface` DHCP and TFTP bind to (required)")
	fs.StringVar(&s.Mode, "mode", "proxy", "DHCP `mode`: proxy (beside another DHCP server) or authoritative")
	fs.TextVar(&s.ServerIP, "server-ip", netip.Addr{}, "IPv4 `address` clients reach rackboot at (default: first IPv4 of --interface)")
	fs.StringVar(&s.HTTPAddr, "http-addr", ":8080", "HTTP listen `address`")
	fs.StringVar(&s.HTTPURL, "http-url", "", "public base `URL` of the HTTP server (default http://<server-ip>:<http port>)")
	fs.StringVar(&s.AdminAddr, "admin-addr", ":8443", "HTTPS listen `address` of the API, dashboard and /metrics")
	fs.StringVar(&s.AdminCert, "admin-cert", "", "admin TLS certificate `file` (PEM; default: self-signed in --data-dir/admin-tls)")
	fs.StringVar(&s.AdminKey, "admin-key", "", "admin TLS private key `file` (PEM), with --admin-cert")
	fs.StringVar(&s.TokensFile, "tokens-file", "", "API tokens `file` (default --data-dir/tokens)")
	fs.StringVar(&s.TFTPAddr, "tftp-addr", ":69", "TFTP listen `address`")
	fs.StringVar(&s.IPXEDir, "ipxe-dir", "/usr/lib/ipxe", "`directory` holding the iPXE boot loaders")
	fs.StringVar(&s.TFTPRoot, "tftp-root", "", "optional `directory` of extra TFTP files, searched before --ipxe-dir")
	fs.StringVar(&s.AssetsDir, "assets-dir", "/var/lib/rackboot/assets", "`directory` of kernels and initrds named by profiles")
	fs.StringVar(&s.Inventory, "inventory", "/etc/rackboot/inventory.yaml", "inventory YAML `file` of profiles and machines")
	fs.StringVar(&s.DataDir, "data-dir", "/var/lib/rackboot", "`directory` of the embedded state store")
	s.Store.addFlags(fs)

	fs.TextVar(&s.Subnet, "subnet", netip.Prefix{}, "authoritative: the `CIDR` of the pool's subnet")
	fs.TextVar(&s.PoolStart, "pool-start", netip.Addr{}, "authoritative: first `address` of the pool")
	fs.TextVar(&s.PoolEnd, "pool-end", netip.Addr{}, "authoritative: last `address` of the pool")
	fs.TextVar(&s.Router, "router", netip.Addr{}, "authoritative: default gateway `address` (option 3)")
	fs.Var(&s.DNS, "dns", "authoritative: DNS server `addresses`, comma-separated (option 6)")
	fs.DurationVar(&s.LeaseTime, "lease-time", time.Hour, "authoritative: lease `duration`")

	s.Loaders = make(map[inventory.Arch]*string, len(loaderDefaults))
	for _, d := range loaderDefaults {
		v := new(string)
		s.Loaders[d.arch] = v
		fs.StringVar(v, "loader-"+string(d.arch), d.file, fmt.Sprintf("boot loader `file` for %s clients", d.arch))
	}

	fs.DurationVar(&s.BMCTimeout, "bmc-timeout", time.Minute, "how long one BMC operation may take (a soft power off waits longer)")
	fs.IntVar(&s.BMCMaxConcurrent, "bmc-max-concurrent", 8, "most BMC operations in flight at once across the rack")
	s.Provision.addFlags(fs)

	fs.StringVar(&s.Kubeconfig, "kubeconfig", "", "kubeconfig `file` of the cluster Ignition workers join (empty: /ignition is off)")
	fs.DurationVar(&s.TokenTTL, "token-ttl", join.DefaultTTL, "lifetime `duration` of each machine's bootstrap token")
	fs.DurationVar(&s.KubeProxyCertTTL, "kube-proxy-cert-ttl", 0, "validity `duration` asked for kube-proxy certificates (0: the cluster signer's default)")

	fs.StringVar(&s.LogLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&s.LogFormat, "log-format", "text", "log `format`: text or json")
	return fs
}

// addrList is a comma-separated list of IP addresses.
type addrList []netip.Addr

func (l *addrList) String() string {
	parts := make([]string, len(*l))
	for i, a := range *l {
		parts[i] = a.String()
	}
	return strings.Join(parts, ",")
}

func (l *addrList) Set(v string) error {
	*l = nil
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return err
		}
		*l = append(*l, a)
	}
	return nil
}
