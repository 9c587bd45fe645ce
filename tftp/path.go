package tftp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// Errors of path resolution; a requestError carries them to the client.
var (
	errEscape    = errors.New("path leaves the root")
	errEmptyPath = errors.New("empty path")
	errNotFile   = errors.New("not a regular file")
	errNoFile    = errors.New("file not found")
)

// cleanName turns the file name of an RRQ into a slash-separated path
// relative to a root. Backslashes become slashes and leading separators
// are dropped, so `\Boot\x64\wdsnbp.com` and `/boot/x64/wdsnbp.com` name a
// file under the root as firmware means. Any ".." element is refused, even
// one that would stay inside the root: clients have no need for it.
func cleanName(name string) (string, error) {
	name = strings.ReplaceAll(name, `\`, "/")
	name = strings.TrimLeft(name, "/")
	for el := range strings.SplitSeq(name, "/") {
		if el == ".." {
			return "", errEscape
		}
	}
	name = path.Clean(name)
	if name == "." {
		return "", errEmptyPath
	}
	if !fs.ValidPath(name) {
		return "", fmt.Errorf("invalid path %q", name)
	}
	return name, nil
}

// roots are the directories files are served from, searched in order.
// os.Root confines each lookup: symbolic links may not lead outside.
type roots []*os.Root

// openRoots opens every directory of dirs; the caller closes them.
func openRoots(dirs []string) (roots, error) {
	var rs roots
	for _, d := range dirs {
		r, err := os.OpenRoot(d)
		if err != nil {
			rs.close()
			return nil, fmt.Errorf("opening root %q: %w", d, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// close closes every root.
func (rs roots) close() {
	for _, r := range rs {
		r.Close()
	}
}

// open finds name (a cleanName result) in the first root that has it and
// opens it. A name that exists but escapes its root, is not a regular file
// or cannot be read stops the search with an access error.
func (rs roots) open(name string) (*os.File, fs.FileInfo, error) {
	for _, r := range rs {
		f, fi, err := openIn(r, name)
		if isNotExist(err) {
			continue
		}
		return f, fi, err
	}
	return nil, nil, fmt.Errorf("looking up %q: %w", name, errNoFile)
}

// openIn opens name inside r. It checks the type before opening, so that
// a FIFO or device cannot block or feed the transfer.
func openIn(r *os.Root, name string) (*os.File, fs.FileInfo, error) {
	fi, err := r.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("opening %q: %w", name, errNotFile)
	}
	f, err := r.Open(name)
	if err != nil {
		return nil, nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("opening %q: %w", name, errNotFile)
	}
	return f, fi, nil
}

// isNotExist reports whether err means that a root lacks the file; a path
// through a regular file ("a.efi/x") counts as missing too.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
