package ignition

import (
	"strings"

	"github.com/coreos/ignition/v2/config/v3_3/types"
)

// Modes of the files the config writes.
const (
	modePublic = 0o644
	modeSecret = 0o600
	modeExec   = 0o755
	modeDir    = 0o755
)

// addFile writes data to path with mode, replacing what is there.
func addFile(c *types.Config, path string, mode int, data []byte) {
	src := dataURL(data)
	c.Storage.Files = append(c.Storage.Files, types.File{
		Node:          types.Node{Path: path, Overwrite: ptr(true)},
		FileEmbedded1: types.FileEmbedded1{Mode: ptr(mode), Contents: types.Resource{Source: &src}},
	})
}

// addRemote makes Ignition download url to path and check its sha512.
func addRemote(c *types.Config, path string, mode int, url, sha512 string) {
	c.Storage.Files = append(c.Storage.Files, types.File{
		Node: types.Node{Path: path, Overwrite: ptr(true)},
		FileEmbedded1: types.FileEmbedded1{Mode: ptr(mode), Contents: types.Resource{
			Source:       ptr(url),
			Verification: types.Verification{Hash: ptr("sha512-" + sha512)},
		}},
	})
}

// addLink makes path a symbolic link to target.
func addLink(c *types.Config, path, target string) {
	c.Storage.Links = append(c.Storage.Links, types.Link{
		Node:          types.Node{Path: path, Overwrite: ptr(true)},
		LinkEmbedded1: types.LinkEmbedded1{Target: ptr(target), Hard: ptr(false)},
	})
}

// addDir creates the directory path.
func addDir(c *types.Config, path string) {
	c.Storage.Directories = append(c.Storage.Directories, types.Directory{
		Node:               types.Node{Path: path},
		DirectoryEmbedded1: types.DirectoryEmbedded1{Mode: ptr(modeDir)},
	})
}

// addUnit writes a systemd unit (contents "" keeps the one the OS or an
// extension ships) and enables it through a preset.
func addUnit(c *types.Config, name, contents string) {
	u := types.Unit{Name: name, Enabled: ptr(true)}
	if contents != "" {
		u.Contents = ptr(contents)
	}
	c.Systemd.Units = append(c.Systemd.Units, u)
}

// maskUnit masks a systemd unit.
func maskUnit(c *types.Config, name string) {
	c.Systemd.Units = append(c.Systemd.Units, types.Unit{Name: name, Mask: ptr(true)})
}

func ptr[T any](v T) *T { return &v }

// dataURL encodes data as an RFC 2397 data URL, percent-encoding every
// byte but RFC 3986 unreserved characters and a few that stay readable.
func dataURL(data []byte) string {
	var b strings.Builder
	b.Grow(len(data) + 6)
	b.WriteString("data:,")
	for _, c := range data {
		if unreserved(c) || strings.IndexByte("/:=", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + hex2(c))
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
		'0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

func hex2(c byte) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[c>>4], digits[c&15]})
}
