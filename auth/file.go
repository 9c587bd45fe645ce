package auth

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rackboot/rackboot/internal/atomicfile"
)

// writeFileAtomic replaces path with data and mode perm: it writes a
// temporary file beside path, syncs it and renames it over path, so a
// reader sees the old file or the new one, never a part. The folder is
// created with mode 0700 when missing. The file keeps the owner of the
// file it replaces or, when new, takes its folder's, so a file root
// writes for a server running as another user stays readable to it.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return atomicfile.WritePrepared(path, data, perm, func(f *os.File) { keepOwner(f, path) })
}
