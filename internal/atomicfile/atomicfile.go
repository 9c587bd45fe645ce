// Package atomicfile replaces files so that a reader sees the old file or
// the new one, never a part of either: tokens, keys and state dumps.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data and mode perm. It writes a temporary file
// beside path, syncs it, renames it over path and syncs the folder, so a
// crash leaves the old file or the new one.
func Write(path string, data []byte, perm os.FileMode) error {
	return WritePrepared(path, data, perm, nil)
}

// WritePrepared is Write calling prepare, if set, on the temporary file
// before anything is written to it: to give it the owner of the file it
// replaces, for one.
func WritePrepared(path string, data []byte, perm os.FileMode, prepare func(*os.File)) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if prepare != nil {
		prepare(f)
	}
	if err := writeSync(f, data, perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// writeSync sets f's mode, writes data, syncs and closes f.
func writeSync(f *os.File, data []byte, perm os.FileMode) error {
	err := f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
