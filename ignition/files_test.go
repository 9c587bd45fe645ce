package ignition

import (
	"fmt"
	"strings"
	"testing"

	v33 "github.com/coreos/ignition/v2/config/v3_3"
	v33types "github.com/coreos/ignition/v2/config/v3_3/types"
	"github.com/vincent-petithory/dataurl"
)

func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

// fileData returns the inline contents of the file at path in cfg.
func fileData(t *testing.T, cfg v33types.Config, path string) string {
	t.Helper()
	for i := len(cfg.Storage.Files) - 1; i >= 0; i-- {
		f := cfg.Storage.Files[i]
		if f.Path != path {
			continue
		}
		if f.Contents.Source == nil {
			t.Fatalf("file %s has no contents", path)
		}
		u, err := dataurl.DecodeString(*f.Contents.Source)
		if err != nil {
			t.Fatalf("file %s: decoding %q: %v", path, *f.Contents.Source, err)
		}
		return string(u.Data)
	}
	t.Fatalf("no file %s in the config", path)
	return ""
}

func TestDataURL(t *testing.T) {
	for _, in := range []string{"", "plain", "a b\nc\"d'%e#f?g&h+i,j;k\x00\xff", "é☃"} {
		u, err := dataurl.DecodeString(dataURL([]byte(in)))
		if err != nil {
			t.Fatalf("decoding dataURL(%q): %v", in, err)
		}
		if string(u.Data) != in {
			t.Errorf("dataURL(%q) decodes to %q", in, u.Data)
		}
	}
}

func TestAssetURL(t *testing.T) {
	w := &worker{base: baseURL}
	tests := []struct{ asset, want string }{
		{"k8s/v1.34.2/kubelet", baseURL + "/assets/k8s/v1.34.2/kubelet"},
		{"a b/c#d?e%f", baseURL + "/assets/a%20b/c%23d%3Fe%25f"},
	}
	for _, tt := range tests {
		if got := w.assetURL(tt.asset); got != tt.want {
			t.Errorf("assetURL(%q) = %q, want %q", tt.asset, got, tt.want)
		}
	}
}

// describe lists what cfg lays down in plain text, data URLs decoded, so
// that a change to a golden config reads as a readable diff.
func describe(t *testing.T, raw []byte) []byte {
	t.Helper()
	cfg, _, err := v33.Parse(raw)
	if err != nil {
		t.Fatalf("parsing: %v", err)
	}
	var b strings.Builder
	for _, u := range cfg.Passwd.Users {
		fmt.Fprintf(&b, "user %s: %d ssh keys\n", u.Name, len(u.SSHAuthorizedKeys))
	}
	for _, d := range cfg.Storage.Directories {
		fmt.Fprintf(&b, "dir %s %#o\n", d.Path, *d.Mode)
	}
	for _, l := range cfg.Storage.Links {
		fmt.Fprintf(&b, "link %s -> %s\n", l.Path, *l.Target)
	}
	for _, f := range cfg.Storage.Files {
		mode := 0o644
		if f.Mode != nil {
			mode = *f.Mode
		}
		fmt.Fprintf(&b, "\nfile %s %#o\n", f.Path, mode)
		if h := f.Contents.Verification.Hash; h != nil {
			fmt.Fprintf(&b, "  from %s\n  %s\n", *f.Contents.Source, *h)
			continue
		}
		b.WriteString(indent(fileData(t, cfg, f.Path)))
	}
	for _, u := range cfg.Systemd.Units {
		fmt.Fprintf(&b, "\nunit %s enabled=%v mask=%v\n", u.Name, u.Enabled != nil && *u.Enabled,
			u.Mask != nil && *u.Mask)
		if u.Contents != nil {
			b.WriteString(indent(*u.Contents))
		}
	}
	return []byte(b.String())
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteString(strings.TrimRight("  | "+line, " ") + "\n")
	}
	return b.String()
}
