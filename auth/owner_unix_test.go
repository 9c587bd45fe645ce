//go:build unix

package auth

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestAppendTokenKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file away")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	writeTestFile(t, path, "")
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := AppendToken(path, Entry{Name: "bob", Role: Viewer, Hash: hashB}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("owner after AppendToken = %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
}
