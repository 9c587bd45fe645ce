package ipxe

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/rackboot/rackboot/inventory"
)

// MaxCmdline is the longest kernel command line rackboot renders, in bytes:
// COMMAND_LINE_SIZE of Linux on x86 and arm64. Linux cuts longer ones.
const MaxCmdline = 2048

// CheckProfile reports whether p can be rendered into a per-machine script
// safely. Callers may run it when they load a catalog, to refuse a bad
// profile at start rather than when a machine boots.
//
// Kernel arguments must be printable ASCII and must not hold "${" (iPXE
// would expand a setting), a token "||", "&&" or ";" (iPXE would start
// another command) or a token starting with "#" (iPXE would drop the rest
// of the line). Initrd file names (the image names iPXE gives them, the
// last element of the path) must be plain names, unique ignoring case
// (iPXE's EFI file system matches them that way), and differ from the
// kernel's.
func CheckProfile(p inventory.Profile) error {
	if p.Kernel == "" {
		return errors.New("kernel: required")
	}
	for _, a := range append([]string{p.Kernel}, p.Initrds...) {
		if !fs.ValidPath(a) {
			return fmt.Errorf("asset %q: not a relative path inside the assets directory", a)
		}
	}
	if err := checkArgs(p.Args); err != nil {
		return fmt.Errorf("args: %w", err)
	}
	if err := checkInitrdNames(p); err != nil {
		return err
	}
	if p.Ignition != nil && strings.Contains(p.Args, "ignition.config.url=") {
		return errors.New("args: leave ignition.config.url= out; rackboot adds it")
	}
	if n := len(strings.Join(kernelLine("", "00:00:00:00:00:00", p, true)[1:], " ")); n > MaxCmdline {
		return fmt.Errorf("args: the kernel command line is %d bytes, Linux keeps %d",
			n, MaxCmdline)
	}
	return nil
}

// checkArgs refuses kernel arguments that would change the iPXE line they
// sit on. Tokens are what iPXE's tokenizer sees: runs of non-space bytes.
func checkArgs(args string) error {
	for i := 0; i < len(args); i++ {
		if c := args[i]; c < ' ' || c > '~' {
			return fmt.Errorf("byte %#02x at offset %d is not printable ASCII", c, i)
		}
	}
	if i := strings.Index(args, "${"); i >= 0 {
		return fmt.Errorf("%q at offset %d would make iPXE expand a setting", "${", i)
	}
	for _, tok := range strings.Fields(args) {
		switch {
		case tok == "||" || tok == "&&" || tok == ";":
			return fmt.Errorf("token %q would end the kernel command in iPXE", tok)
		case tok[0] == '#':
			return fmt.Errorf("token %q would start an iPXE comment", tok)
		}
	}
	return nil
}

// checkInitrdNames makes sure every initrd gets a distinct image name that
// can stand on the kernel command line as initrd=<name>.
func checkInitrdNames(p inventory.Profile) error {
	seen := map[string]string{strings.ToLower(imageName(p.Kernel)): p.Kernel}
	for _, initrd := range p.Initrds {
		name := imageName(initrd)
		if !plainName(name) {
			return fmt.Errorf("initrd %q: file name %q must be letters, digits, "+
				"'.', '_', '+' and '-'", initrd, name)
		}
		key := strings.ToLower(name)
		if other, dup := seen[key]; dup {
			return fmt.Errorf("initrd %q: iPXE names it %q, like %q", initrd, name, other)
		}
		seen[key] = initrd
	}
	return nil
}

func plainName(s string) bool {
	if s == "" || s == "." || s == ".." || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && c != '+' {
			return false
		}
	}
	return true
}

// imageName is the name iPXE gives an image fetched from the asset: the
// last element of the URL path, decoded.
func imageName(asset string) string { return path.Base(asset) }

// assetURL returns the URL of asset under base/assets/. Every byte other
// than an RFC 3986 unreserved character or '/' is percent-encoded, so the
// URL holds no space, '$' or '#' that iPXE would act on.
func assetURL(base, asset string) string {
	var b strings.Builder
	b.WriteString(base)
	b.WriteString("/assets/")
	for i := 0; i < len(asset); i++ {
		c := asset[i]
		if unreserved(c) || c == '/' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
