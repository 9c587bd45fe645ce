//go:build unix

package auth

import (
	"os"
	"path/filepath"
	"syscall"
)

// keepOwner gives f the owner of path or, when path does not exist, of
// its folder. Only root may do so; for anyone else it does nothing, as
// their files are theirs anyway.
func keepOwner(f *os.File, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		fi, err = os.Stat(filepath.Dir(path))
	}
	if err != nil {
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		f.Chown(int(st.Uid), int(st.Gid))
	}
}
