package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// importedSums is one entry of the YAML "rackboot assets import" prints.
type importedSums struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512"`
}

// sumsOf computes what the import must print for content.
func sumsOf(content string) importedSums {
	s256, s512 := sha256.Sum256([]byte(content)), sha512.Sum512([]byte(content))
	return importedSums{Bytes: int64(len(content)), SHA256: hex.EncodeToString(s256[:]),
		SHA512: hex.EncodeToString(s512[:])}
}

// Contents of the source files every import case starts with, in src/.
var importSources = map[string]string{
	"kubelet":       "fake kubelet binary\n",
	"crio.raw":      "fake crio system extension\n",
	"other/kubelet": "another kubelet\n",
}

func TestAssetsImport(t *testing.T) {
	tests := []struct {
		name string
		args []string // "SRC/" is replaced by the source folder
		env  map[string]string
		want map[string]string // asset path -> source name; printed and stored
	}{
		{name: "base name", args: []string{"SRC/kubelet"},
			want: map[string]string{"kubelet": "kubelet"}},
		{name: "nested name", args: []string{"--name", "k8s/v1.37.2/kubelet", "SRC/kubelet"},
			want: map[string]string{"k8s/v1.37.2/kubelet": "kubelet"}},
		{name: "flag after file", args: []string{"SRC/crio.raw", "--name=crio/crio-v1.37.0.raw"},
			want: map[string]string{"crio/crio-v1.37.0.raw": "crio.raw"}},
		{name: "several files", args: []string{"SRC/kubelet", "SRC/crio.raw"},
			want: map[string]string{"kubelet": "kubelet", "crio.raw": "crio.raw"}},
		{name: "replaces a file", args: []string{"--name", "old", "SRC/kubelet"},
			want: map[string]string{"old": "kubelet"}},
		{name: "assets dir from env", args: []string{"SRC/kubelet"},
			env:  map[string]string{"RACKBOOT_ASSETS_DIR": "ASSETS"},
			want: map[string]string{"kubelet": "kubelet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, assets := importSourceDir(t), t.TempDir()
			writeFile(t, filepath.Join(assets, "old"), "stale")
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, "ASSETS", assets)
			}
			args := []string{"assets", "import"}
			if tt.env == nil {
				args = append(args, "--assets-dir", assets)
			}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "SRC/", src+"/"))
			}
			var out, errOut strings.Builder
			if err := run(context.Background(), args, &out, &errOut, mapEnv(env)); err != nil {
				t.Fatalf("run(%q) = %v (stderr %q)", args, err, errOut.String())
			}
			var got map[string]importedSums
			if err := yaml.Unmarshal([]byte(out.String()), &got); err != nil {
				t.Fatalf("output is not YAML: %v\n%s", err, out.String())
			}
			want := map[string]importedSums{}
			for dest, from := range tt.want {
				want[dest] = sumsOf(importSources[from])
				checkStored(t, assets, dest, importSources[from])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("run(%q) printed (-want +got):\n%s", args, diff)
			}
			checkNoTempFiles(t, assets)
		})
	}
}

func TestAssetsImportRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"parent in name", []string{"--name", "../escape", "SRC/kubelet"}, `name: "../escape" is not a relative path`},
		{"dotdot inside name", []string{"--name", "k8s/../../escape", "SRC/kubelet"}, "name:"},
		{"absolute name", []string{"--name", "/etc/escape", "SRC/kubelet"}, "name:"},
		{"backslash name", []string{"--name", `k8s\kubelet`, "SRC/kubelet"}, "name:"},
		{"dot name", []string{"--name", ".", "SRC/kubelet"}, "name:"},
		{"trailing slash", []string{"--name", "k8s/", "SRC/kubelet"}, "name:"},
		{"name with two files", []string{"--name", "x", "SRC/kubelet", "SRC/crio.raw"}, "name: names one file"},
		{"no file", []string{}, "no FILE given"},
		{"same base name twice", []string{"SRC/kubelet", "SRC/other/kubelet"}, "would both be kubelet"},
		{"missing source", []string{"SRC/nothing"}, "no such file"},
		{"directory source", []string{"--name", "d", "SRC/other"}, "not a regular file"},
		{"symlink out of the dir", []string{"--name", "out/kubelet", "SRC/kubelet"}, "escapes"},
		{"unknown flag", []string{"--sha", "SRC/kubelet"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, assets, outside := importSourceDir(t), t.TempDir(), t.TempDir()
			if err := os.Symlink(outside, filepath.Join(assets, "out")); err != nil {
				t.Fatal(err)
			}
			args := []string{"assets", "import", "--assets-dir", assets}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "SRC/", src+"/"))
			}
			var out, errOut strings.Builder
			err := run(context.Background(), args, &out, &errOut, mapEnv(nil))
			if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
				t.Fatalf("run(%q) = %v (stderr %q), want an error containing %q",
					args, err, errOut.String(), tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("run(%q) printed %q, want nothing", args, out.String())
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("import wrote %d entries outside the assets dir", len(entries))
			}
			if entries, _ := os.ReadDir(assets); len(entries) != 1 {
				t.Errorf("assets dir holds %d entries after a refused import, want only the link", len(entries))
			}
		})
	}
}

func TestAssetsUsage(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"assets"}, &out, &errOut, mapEnv(nil)); err != errUsage {
		t.Errorf("run(assets) = %v, want errUsage", err)
	}
	if !strings.Contains(errOut.String(), "rackboot assets import") {
		t.Errorf("run(assets) stderr = %q, want the usage", errOut.String())
	}
}

// importSourceDir writes importSources into a new folder and returns it.
func importSourceDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range importSources {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, content)
	}
	return dir
}

// checkStored asserts that dir/name holds content, readable by all.
func checkStored(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	b, err := os.ReadFile(p)
	if err != nil || string(b) != content {
		t.Errorf("%s = %q, %v; want %q", name, b, err, content)
	}
	if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o444 != 0o444 {
		t.Errorf("%s mode = %v, want readable by all", name, fi.Mode())
	}
}

// checkNoTempFiles asserts that no import temporary is left in dir.
func checkNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".import-") {
			t.Errorf("temporary file %s left behind", p)
		}
		return nil
	})
}
