package ignition

import (
	"fmt"
	"testing"

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
