package main

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

const fetchedKubelet = "fake kubelet from the release server\n"

// newAssetServer serves fetchedKubelet at /kubelet, a chunked body of
// the same bytes at /chunked, a server that never answers at /slow and
// 404 elsewhere, on 127.0.0.1. It returns the server and a count of the
// requests it got.
func newAssetServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	hits := new(atomic.Int64)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /kubelet", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(fetchedKubelet))
	})
	mux.HandleFunc("GET /chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(fetchedKubelet[:10]))
		w.(http.Flusher).Flush()
		w.Write([]byte(fetchedKubelet[10:]))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv, hits
}

func TestAssetsFetch(t *testing.T) {
	want := sumsOf(fetchedKubelet)
	tests := []struct {
		name string
		args []string // "URL/" is replaced by the server's base URL
		dest string
	}{
		{name: "sha512", dest: "k8s/v1.34.2/kubelet",
			args: []string{"--name", "k8s/v1.34.2/kubelet", "--sha512", want.SHA512, "URL/kubelet"}},
		{name: "sha256 upper case", dest: "kubelet",
			args: []string{"--name", "kubelet", "--sha256", strings.ToUpper(want.SHA256), "URL/kubelet"}},
		{name: "both sums, flags after URL", dest: "kubelet",
			args: []string{"URL/kubelet", "--name=kubelet", "--sha256", want.SHA256, "--sha512", want.SHA512}},
		{name: "replaces a file", dest: "old",
			args: []string{"--name", "old", "--sha512", want.SHA512, "URL/kubelet"}},
		{name: "chunked body at the cap", dest: "kubelet",
			args: []string{"--name", "kubelet", "--sha512", want.SHA512,
				"--max-bytes", "37", "URL/chunked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newAssetServer(t)
			assets := t.TempDir()
			writeFile(t, filepath.Join(assets, "old"), "stale")
			args := []string{"assets", "fetch", "--assets-dir", assets}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "URL/", srv.URL+"/"))
			}
			var out, errOut strings.Builder
			if err := run(context.Background(), args, &out, &errOut, mapEnv(nil)); err != nil {
				t.Fatalf("run(%q) = %v (stderr %q)", args, err, errOut.String())
			}
			var got map[string]importedSums
			if err := yaml.Unmarshal([]byte(out.String()), &got); err != nil {
				t.Fatalf("output is not YAML: %v\n%s", err, out.String())
			}
			if diff := cmp.Diff(map[string]importedSums{tt.dest: want}, got); diff != "" {
				t.Errorf("run(%q) printed (-want +got):\n%s", args, diff)
			}
			checkStored(t, assets, tt.dest, fetchedKubelet)
			checkNoFetchTemps(t, assets)
		})
	}
}

func TestAssetsFetchRefuses(t *testing.T) {
	good := sumsOf(fetchedKubelet)
	wrong := sumsOf("something else")
	tests := []struct {
		name     string
		args     []string
		want     string
		requests int64 // requests the server must have seen; -1 = any
	}{
		{"wrong sha512", []string{"--name", "old", "--sha512", wrong.SHA512, "URL/kubelet"},
			"sha512 mismatch: got " + good.SHA512, 1},
		{"wrong sha256", []string{"--name", "old", "--sha256", wrong.SHA256, "--sha512", good.SHA512, "URL/kubelet"},
			"sha256 mismatch", 1},
		{"not found", []string{"--name", "k", "--sha512", good.SHA512, "URL/missing"},
			"server answered 404 Not Found", 1},
		{"slow server", []string{"--name", "k", "--sha512", good.SHA512, "--timeout", "100ms", "URL/slow"},
			"context deadline exceeded", -1},
		{"over the cap", []string{"--name", "k", "--sha512", good.SHA512, "--max-bytes", "36", "URL/kubelet"},
			"larger than --max-bytes 36", 1},
		{"chunked over the cap", []string{"--name", "k", "--sha512", good.SHA512, "--max-bytes", "36", "URL/chunked"},
			"larger than --max-bytes 36", 1},
		{"parent in name", []string{"--name", "../escape", "--sha512", good.SHA512, "URL/kubelet"},
			`name: "../escape" is not a relative path`, 0},
		{"absolute name", []string{"--name", "/etc/escape", "--sha512", good.SHA512, "URL/kubelet"}, "name:", 0},
		{"symlink out of the dir", []string{"--name", "out/kubelet", "--sha512", good.SHA512, "URL/kubelet"},
			"escapes", 0},
		{"no name", []string{"--sha512", good.SHA512, "URL/kubelet"}, "name: required", 0},
		{"no sum", []string{"--name", "k", "URL/kubelet"}, "give --sha512 or --sha256", 0},
		{"short sum", []string{"--name", "k", "--sha512", good.SHA256, "URL/kubelet"}, "sha512: want 128 hex digits", 0},
		{"no URL", []string{"--name", "k", "--sha512", good.SHA512}, "want one URL, got 0", 0},
		{"two URLs", []string{"--name", "k", "--sha512", good.SHA512, "URL/kubelet", "URL/kubelet"},
			"want one URL, got 2", 0},
		{"file URL", []string{"--name", "k", "--sha512", good.SHA512, "file:///etc/passwd"},
			"is not an http or https URL", 0},
		{"zero timeout", []string{"--name", "k", "--sha512", good.SHA512, "--timeout", "0s", "URL/kubelet"},
			"must be above zero", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := newAssetServer(t)
			assets, outside := t.TempDir(), t.TempDir()
			writeFile(t, filepath.Join(assets, "old"), "stale")
			if err := os.Symlink(outside, filepath.Join(assets, "out")); err != nil {
				t.Fatal(err)
			}
			args := []string{"assets", "fetch", "--assets-dir", assets}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "URL/", srv.URL+"/"))
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
			if got := hits.Load(); tt.requests >= 0 && got != tt.requests {
				t.Errorf("run(%q) made %d requests, want %d", args, got, tt.requests)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("fetch wrote %d entries outside the assets dir", len(entries))
			}
			if b, err := os.ReadFile(filepath.Join(assets, "old")); string(b) != "stale" {
				t.Errorf("old = %q, %v after a refused fetch, want it untouched", b, err)
			}
			if entries, _ := os.ReadDir(assets); len(entries) != 2 {
				t.Errorf("assets dir holds %d entries after a refused fetch, want old and the link", len(entries))
			}
			checkNoFetchTemps(t, assets)
		})
	}
}

// checkNoFetchTemps asserts that no fetch temporary is left in dir.
func checkNoFetchTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".fetch-") {
			t.Errorf("temporary file %s left behind", p)
		}
		return nil
	})
}
