package tftp

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseRequest feeds arbitrary bytes to the request parser and the
// option negotiation: no panic, and whatever is accepted is well formed.
func FuzzParseRequest(f *testing.F) {
	f.Add(encodeRequest(opRRQ, "ipxe.efi", "octet"))
	f.Add(encodeRequest(opRRQ, "ipxe.efi", "octet", "tsize", "0", "blksize", "1468"))
	f.Add(encodeRequest(opRRQ, `\Boot\x64\wdsnbp.com`, "netascii", "windowsize", "4", "timeout", "3"))
	f.Add(encodeRequest(opWRQ, "x", "OCTET"))
	f.Add([]byte("\x00\x01ipxe.efi"))
	f.Add([]byte{0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseRequest(b)
		if err != nil {
			return
		}
		switch {
		case req.op != opRRQ && req.op != opWRQ:
			t.Errorf("parseRequest(%q).op = %d", b, req.op)
		case req.mode != modeOctet && req.mode != modeNetascii && req.mode != modeMail:
			t.Errorf("parseRequest(%q).mode = %q", b, req.mode)
		case len(req.options) > maxOptions || len(b) > maxRequestLen:
			t.Errorf("parseRequest(%q) accepted %d options in %d bytes", b, len(req.options), len(b))
		case strings.Contains(req.filename, "\x00"):
			t.Errorf("parseRequest(%q).filename = %q holds NUL", b, req.filename)
		}
		checkNegotiation(t, req.options)
	})
}

// checkNegotiation negotiates opts and checks the result stays in range
// and the OACK names only options that were asked for.
func checkNegotiation(t *testing.T, opts []option) {
	lim := limits{blksize: DefaultMaxBlockSize, window: DefaultMaxWindowSize, timeout: time.Second}
	p := negotiate(opts, 12345, lim)
	if p.blksize < minBlockSize || p.blksize > lim.blksize || p.window < 1 || p.window > lim.window {
		t.Errorf("negotiate(%v) = blksize %d, window %d: out of range", opts, p.blksize, p.window)
	}
	if p.timeout < time.Second || p.timeout > maxTimeoutSecs*time.Second {
		t.Errorf("negotiate(%v) timeout = %v, out of range", opts, p.timeout)
	}
	asked := map[string]bool{}
	for _, o := range opts {
		asked[o.name] = true
	}
	for _, o := range p.oack {
		if !asked[o.name] {
			t.Errorf("negotiate(%v) OACK has %q, not asked for", opts, o.name)
		}
	}
}

// FuzzResolve feeds arbitrary file names to the path resolution over the
// fixture roots: a name that opens always names a file inside a root, and
// never one of the secrets next to or outside the roots.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		`\Boot\x64\wdsnbp.com`, `/boot/x64/wdsnbp.com`, `../etc/passwd`,
		`..\..\etc\passwd`, `boot/../../etc/passwd`, `../root-secret/passwd`,
		`escape.txt`, `abs-escape.txt`, `inside-link.bin`, `undionly.kpxe`,
		`boot`, `/`, `small.bin/x`, `.\small.bin`,
	} {
		f.Add(s)
	}
	rs, err := openRoots([]string{fx.root, fx.ipxe})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(rs.close)
	f.Fuzz(func(t *testing.T, name string) {
		clean, err := cleanName(name)
		if err != nil {
			return
		}
		if !fs.ValidPath(clean) || !filepath.IsLocal(clean) {
			t.Fatalf("cleanName(%q) = %q, not a local path", name, clean)
		}
		file, _, err := rs.open(clean)
		if err != nil {
			return
		}
		defer file.Close()
		checkInsideRoot(t, name, clean, file)
	})
}

// checkInsideRoot fails unless file is clean inside one of the fixture
// roots, after following symbolic links, and is no secret.
func checkInsideRoot(t *testing.T, name, clean string, file *os.File) {
	data, err := io.ReadAll(io.LimitReader(file, 1<<16))
	if err != nil {
		t.Fatalf("reading %q: %v", clean, err)
	}
	if strings.Contains(string(data), "secret") {
		t.Fatalf("resolving %q served a secret: %q", name, data)
	}
	for _, root := range []string{fx.root, fx.ipxe} {
		real, err := filepath.EvalSymlinks(filepath.Join(root, clean))
		if err != nil {
			continue
		}
		rootReal, _ := filepath.EvalSymlinks(root)
		if !strings.HasPrefix(real, rootReal+string(filepath.Separator)) {
			t.Fatalf("resolving %q opened %s, outside root %s", name, real, rootReal)
		}
		return
	}
	t.Fatalf("resolving %q opened %q, found in no root", name, clean)
}
