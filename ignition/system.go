package ignition

import (
	"github.com/coreos/ignition/v2/config/v3_3/types"
	"github.com/rackboot/rackboot/inventory"
)

// Kernel modules every worker loads at boot: overlay for container
// storage, br_netfilter so that bridged pod traffic passes iptables.
var (
	baseModules = []string{"overlay", "br_netfilter"}
	// ipvsModules are what kube-proxy's ipvs proxier needs.
	ipvsModules = []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"}
)

// sysctls is the kernel configuration Kubernetes networking needs: routing
// between interfaces, and bridged traffic seen by iptables.
const sysctls = `# Written by rackboot: Kubernetes networking.
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
`

// system lays down the hostname, SSH keys, kernel modules and sysctls,
// and turns swap off: the kubelet refuses to start with swap on.
func (w *worker) system(c *types.Config) {
	addFile(c, "/etc/hostname", modePublic, []byte(w.name+"\n"))
	if keys := w.s.SSHAuthorizedKeys; len(keys) > 0 {
		u := types.PasswdUser{Name: "core"}
		for _, k := range keys {
			u.SSHAuthorizedKeys = append(u.SSHAuthorizedKeys, types.SSHAuthorizedKey(k))
		}
		c.Passwd.Users = append(c.Passwd.Users, u)
	}
	modules := baseModules
	if w.s.ProxyMode() == inventory.KubeProxyIPVS {
		modules = append(modules[:len(modules):len(modules)], ipvsModules...)
	}
	addFile(c, "/etc/modules-load.d/rackboot-kubernetes.conf", modePublic, lines(modules))
	addFile(c, "/etc/sysctl.d/rackboot-kubernetes.conf", modePublic, []byte(sysctls))
	w.swapOff(c)
}

// swapOff masks swap.target, so no swap device is activated. Fedora CoreOS
// also sets up swap on zram by default; an empty zram-generator.conf
// turns that off.
func (w *worker) swapOff(c *types.Config) {
	maskUnit(c, "swap.target")
	if w.s.OS == inventory.OSFCOS {
		addFile(c, "/etc/systemd/zram-generator.conf", modePublic,
			[]byte("# Written by rackboot: no swap on zram, the kubelet needs swap off.\n"))
	}
}

// lines joins words one per line.
func lines(words []string) []byte {
	var b []byte
	for _, w := range words {
		b = append(b, w...)
		b = append(b, '\n')
	}
	return b
}
