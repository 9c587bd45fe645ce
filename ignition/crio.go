package ignition

import (
	"fmt"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_3/types"
	"github.com/rackboot/rackboot/inventory"
)

// crioSocket is where CRI-O listens for the kubelet.
const crioSocket = "unix:///var/run/crio/crio.sock"

// crio lays down CRI-O as a systemd system extension (sysext): the image
// is downloaded from the asset store into the OS's sysext folder and
// linked from /etc/extensions/<name>.raw, where systemd-sysext merges it
// into /usr at boot. Its own crio.service is enabled by preset, and the
// kubelet unit pulls it in as well, in case the preset ran before the
// extension was merged.
func (w *worker) crio(c *types.Config) {
	name := w.s.SysextName()
	image := fmt.Sprintf("%s/%s-%s.raw", w.layout.sysextDir, name, w.s.CRIOVersion)
	addRemote(c, image, modePublic, w.assetURL(w.s.CRIO.Asset), w.s.CRIO.SHA512)
	addLink(c, "/etc/extensions/"+name+".raw", image)
	if w.s.OS == inventory.OSFlatcar {
		// Flatcar ships Docker and containerd as built-in extensions;
		// linking them to /dev/null turns them off, leaving one runtime.
		addLink(c, "/etc/extensions/docker-flatcar.raw", "/dev/null")
		addLink(c, "/etc/extensions/containerd-flatcar.raw", "/dev/null")
	}
	addUnit(c, "systemd-sysext.service", "")
	addUnit(c, "crio.service", "")
	addFile(c, "/etc/crio/crio.conf.d/10-rackboot.conf", modePublic, w.crioConf())
	if len(w.s.RegistryMirrors) > 0 {
		addFile(c, "/etc/containers/registries.conf.d/10-rackboot-mirrors.conf",
			modePublic, registriesConf(w.s.RegistryMirrors))
	}
}

// crioConf is CRI-O's drop-in (TOML): the systemd cgroup manager, which
// the kubelet's cgroupDriver matches, and the pause image when the profile
// names one. Strings were validated by the inventory: they hold no quote
// or backslash.
func (w *worker) crioConf() []byte {
	var b strings.Builder
	b.WriteString("# Written by rackboot.\n")
	b.WriteString("[crio.runtime]\n")
	b.WriteString("cgroup_manager = \"systemd\"\n")
	b.WriteString("conmon_cgroup = \"pod\"\n")
	if w.s.PauseImage != "" {
		b.WriteString("\n[crio.image]\n")
		fmt.Fprintf(&b, "pause_image = %q\n", w.s.PauseImage)
	}
	return []byte(b.String())
}

// registriesConf is a containers-registries.conf(5) drop-in that tries
// each registry's mirrors, in order, before the registry itself.
func registriesConf(mirrors []inventory.RegistryMirror) []byte {
	var b strings.Builder
	b.WriteString("# Written by rackboot.\n")
	for _, m := range mirrors {
		fmt.Fprintf(&b, "\n[[registry]]\nprefix = %q\nlocation = %q\n", m.Registry, m.Registry)
		for _, mirror := range m.Mirrors {
			fmt.Fprintf(&b, "\n[[registry.mirror]]\nlocation = %q\n", mirror)
			if m.Insecure {
				b.WriteString("insecure = true\n")
			}
		}
	}
	return []byte(b.String())
}
