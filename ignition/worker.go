package ignition

import (
	"net/netip"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_3/types"
	"github.com/rackboot/rackboot/inventory"
)

// worker is everything the config of one machine is made of, gathered
// and checked by Renderer.gather. Building the config from it cannot fail.
type worker struct {
	name   string
	nodeIP netip.Addr // zero: the kubelet picks the address itself
	labels map[string]string
	s      *inventory.IgnitionSettings
	layout layout
	base   string // rackboot's base URL, no trailing slash
	ca     []byte // PEM
	token  Token
	proxy  *ClientCertificate // nil when kube-proxy runs as a DaemonSet
}

// layout is where files go on one OS.
type layout struct {
	// binDir holds the kubelet binary: /usr is read-only on both systems.
	binDir string
	// sysextDir holds the CRI-O system extension image, linked from
	// /etc/extensions.
	sysextDir string
}

var layouts = map[inventory.IgnitionOS]layout{
	// Flatcar's conventions: /opt/bin is on PATH, and sysext-bakery
	// images live in /opt/extensions/<name>.
	inventory.OSFlatcar: {binDir: "/opt/bin", sysextDir: "/opt/extensions/crio"},
	// On Fedora CoreOS /usr/local is writable (/var/usrlocal) and /opt
	// is a symbolic link into /var, so the image goes to /var directly.
	inventory.OSFCOS: {binDir: "/usr/local/bin", sysextDir: "/var/lib/rackboot/extensions"},
}

// config builds the worker's config in spec 3.3 types.
func (w *worker) config() types.Config {
	c := ptr(emptyConfig())
	w.system(c)
	w.crio(c)
	w.kubelet(c)
	w.kubeProxy(c)
	return *c
}

// assetURL is the URL of an asset in rackboot's store. Asset names are
// validated relative paths; each element is escaped for a URL path.
func (w *worker) assetURL(asset string) string {
	parts := strings.Split(asset, "/")
	for i, p := range parts {
		parts[i] = escapePathSegment(p)
	}
	return w.base + "/assets/" + strings.Join(parts, "/")
}

func escapePathSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + hex2(c))
	}
	return b.String()
}

// emptyConfig is a config that lays down nothing.
func emptyConfig() types.Config {
	return types.Config{Ignition: types.Ignition{Version: inventory.SpecVersion33}}
}
