package main

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rackboot/rackboot/inventory"
)

var dumpOpts = []cmp.Option{
	cmpopts.EquateComparable(netip.Addr{}),
	cmpopts.IgnoreFields(inventory.Dump{}, "Created"),
}

// fillDataDir makes a store in dir holding an API machine, a rejection,
// a lease, three events, a new generation with a step, a reprovision in
// flight and a boot UUID, and returns its dump.
func fillDataDir(t *testing.T, dir string) inventory.Dump {
	t.Helper()
	c, err := inventory.ParseCatalog([]byte("profiles: [{name: tiny, kernel: k}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := inventory.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inv := inventory.New(c, s)
	const mac, other = "02:00:00:00:00:01", "02:00:00:00:00:02"
	ip := netip.MustParseAddr("192.0.2.50")
	steps := []func() error{
		func() error {
			_, err := inv.PutMachine(inventory.Machine{Name: "node1", MACs: []string{mac}, Profile: "tiny"})
			return err
		},
		func() error { return inv.Reject("02:00:00:00:00:66") },
		func() error {
			return inv.PutLease(inventory.Lease{MAC: mac, IP: ip, Expiry: time.Now().Add(time.Hour)})
		},
		func() error { return record(inv, mac, inventory.Event{Kind: inventory.EventDHCPAck, IP: ip}) },
		func() error { return record(inv, mac, inventory.Event{Kind: inventory.EventScriptServed}) },
		func() error { return record(inv, other, inventory.Event{Kind: inventory.EventDiscovered}) },
		func() error { _, err := inv.NewGeneration("node1"); return err },
		func() error { _, err := inv.TakeStep("node1", 2, inventory.StepInstallerServed); return err },
		func() error { return inv.PutJob(inventory.JobRecord{Machine: "node1", MAC: mac, Attempt: 1}) },
		func() error { return inv.PutBootUUID(mac, "4c4c4544-0042-3510-8052-b4c04f4e5631") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("filling the store, step %d: %v", i, err)
		}
	}
	d, err := s.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func record(inv *inventory.Inventory, mac string, e inventory.Event) error {
	_, err := inv.Record(mac, e)
	return err
}

// runState runs rackboot with args and returns its stdout and stderr apart.
func runState(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(t.Context(), args, &out, &errOut, mapEnv(env))
	return out.String(), errOut.String(), err
}

// dumpDataDir returns the dump of the store in dir.
func dumpDataDir(t *testing.T, dir string) inventory.Dump {
	t.Helper()
	s, err := inventory.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const wantSummary = "2 timelines, 1 declared machine, 1 lease, 3 events"

// TestExportImport moves a store to a new data directory through a file
// and checks that everything arrived, that the file is private, and that
// a second import is refused without a change.
func TestExportImport(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "new")
	want := fillDataDir(t, src)
	outDir := t.TempDir()
	file := filepath.Join(outDir, "state.json")
	writeFile(t, file, `{"kind": "rackboot-state", "version": 1, "seq": 0}`) // an older backup

	stdout, stderr, err := runState(t, nil, "export", "--data-dir", src, "-o", file)
	if err != nil {
		t.Fatalf("export = %v (stderr %q)", err, stderr)
	}
	if stdout != "" || stderr != "rackboot: exported "+wantSummary+" to "+file+"\n" {
		t.Errorf("export printed %q on stdout and %q on stderr, want only the summary on stderr", stdout, stderr)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export's file: %v, %v, want mode 0600", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 1 {
		t.Errorf("export left %d files in the folder, want the file alone", len(entries))
	}

	_, stderr, err = runState(t, nil, "import", "--data-dir", dst, file)
	if err != nil {
		t.Fatalf("import = %v (stderr %q)", err, stderr)
	}
	if want := "rackboot: imported " + wantSummary + " into " + filepath.Join(dst, "rackboot.db") + "\n"; stderr != want {
		t.Errorf("import printed %q, want %q", stderr, want)
	}
	if diff := cmp.Diff(want, dumpDataDir(t, dst), dumpOpts...); diff != "" {
		t.Errorf("imported state (-exported +imported):\n%s", diff)
	}

	_, _, err = runState(t, nil, "import", file, "--data-dir", dst)
	if err == nil || !strings.Contains(err.Error(), "already holds state") ||
		!strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("a second import = %v, want a refusal saying nothing was changed", err)
	}
	if diff := cmp.Diff(want, dumpDataDir(t, dst), dumpOpts...); diff != "" {
		t.Errorf("state after the refused import (-before +after):\n%s", diff)
	}
}

// TestExportImportStandardStreams exports to stdout, with the data
// directory from the environment, and imports from stdin.
func TestExportImportStandardStreams(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	want := fillDataDir(t, src)
	stdout, stderr, err := runState(t, map[string]string{"RACKBOOT_DATA_DIR": src}, "export")
	if err != nil {
		t.Fatalf("export = %v (stderr %q)", err, stderr)
	}
	if !strings.HasSuffix(stderr, " to standard output\n") {
		t.Errorf("export's summary = %q, want it to name standard output", stderr)
	}
	var errOut strings.Builder
	err = importState([]string{"-"}, strings.NewReader(stdout), &errOut,
		mapEnv(map[string]string{"RACKBOOT_DATA_DIR": dst}))
	if err != nil {
		t.Fatalf("import - = %v", err)
	}
	if diff := cmp.Diff(want, dumpDataDir(t, dst), dumpOpts...); diff != "" {
		t.Errorf("state imported from stdin (-exported +imported):\n%s", diff)
	}
}

// TestExportImportWhileServing holds the store open as rackboot serve
// does: both commands give up and say to stop the server, and export
// writes no file.
func TestExportImportWhileServing(t *testing.T) {
	dir := t.TempDir()
	fillDataDir(t, dir)
	held, err := inventory.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() }) // after the parallel subtests
	backup := t.TempDir()
	writeFile(t, filepath.Join(backup, "good.json"), `{"kind": "rackboot-state", "version": 1, "seq": 0}`)
	want := "stop rackboot serve first (it holds " + filepath.Join(dir, "rackboot.db") + ")"
	tests := []struct {
		name string
		args []string
	}{
		{"export", []string{"export", "--data-dir", dir, "-o", filepath.Join(backup, "state.json")}},
		{"import", []string{"import", "--data-dir", dir, filepath.Join(backup, "good.json")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runState(t, nil, tt.args...)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("rackboot %s while the store is held = %v, want %q", tt.name, err, want)
			}
		})
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(backup, "state.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("export while the store is held left a file: %v", err)
		}
	})
}

func TestExportImportErrors(t *testing.T) {
	files := t.TempDir()
	bad := filepath.Join(files, "bad.json")
	writeFile(t, bad, `{"kind": "rackboot-state", "version": 1, "seq": 1, "leases": [
		{"mac": "02:00:00:00:00:01", "ip": "192.0.2.5"}, {"mac": "02:00:00:00:00:02", "ip": "192.0.2.5"}]}`)
	newer := filepath.Join(files, "newer.json")
	writeFile(t, newer, `{"kind": "rackboot-state", "version": 2}`)
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"export without a store", []string{"export", "--data-dir", missing}, "export: no store in " + missing},
		{"export with an operand", []string{"export", "state.json"}, `unexpected argument "state.json" (give the file with -o)`},
		{"export into a missing folder", []string{"export", "--data-dir", "DATA", "-o", filepath.Join(missing, "x.json")},
			"export: writing " + filepath.Join(missing, "x.json")},
		{"import without a file", []string{"import", "--data-dir", missing}, "usage"},
		{"import of two files", []string{"import", "--data-dir", missing, bad, newer}, "usage"},
		{"import of a missing file", []string{"import", "--data-dir", missing, filepath.Join(files, "nope.json")},
			"no such file"},
		{"import of a bad dump", []string{"import", "--data-dir", missing, bad},
			"import: " + bad + ": leases[1] (02:00:00:00:00:02): ip: 192.0.2.5 is in leases[0] too"},
		{"import of a newer dump", []string{"import", "--data-dir", missing, newer},
			"version 2: this rackboot reads dump version 1 only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if i := slices.Index(args, "DATA"); i >= 0 {
				args = append([]string{}, args...)
				args[i] = t.TempDir()
				fillDataDir(t, args[i])
			}
			stdout, _, err := runState(t, nil, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("rackboot %v = %v, want %q", args, err, tt.want)
			}
			if stdout != "" {
				t.Errorf("rackboot %v printed %q on a failure", args, stdout)
			}
			if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("rackboot %v made %s: %v", args, missing, err)
			}
		})
	}
}

// TestExportRefusesToOverwrite checks that export writes over neither
// the store (however -o spells it) nor a file that is not a dump, and
// does write over an empty file or an earlier dump.
func TestExportRefusesToOverwrite(t *testing.T) {
	tests := []struct {
		name    string
		out     func(dir string) string // the -o of a data dir dir
		content string                  // the file's content before, if any
		want    string                  // the error; "" for success
	}{
		{"the store", func(dir string) string { return filepath.Join(dir, storeFile) }, "", "is the store itself"},
		{"the store, unclean", func(dir string) string { return dir + "/./" + storeFile }, "", "is the store itself"},
		{"the store, relative", func(dir string) string {
			rel, err := filepath.Rel(must(os.Getwd()), filepath.Join(dir, storeFile))
			if err != nil {
				t.Fatal(err)
			}
			return rel
		}, "", "is the store itself"},
		{"the store by a link", func(dir string) string {
			link := filepath.Join(t.TempDir(), "link.json")
			if err := os.Symlink(filepath.Join(dir, storeFile), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "", "is the store itself"},
		{"a text file", func(string) string { return filepath.Join(t.TempDir(), "notes.txt") }, "keep me\n",
			"exists and is not a rackboot state dump"},
		{"another json", func(string) string { return filepath.Join(t.TempDir(), "inv.json") }, `{"machines": []}`,
			"exists and is not a rackboot state dump"},
		{"an empty file", func(string) string { return filepath.Join(t.TempDir(), "x.json") }, " ", ""},
		{"an earlier dump", func(string) string { return filepath.Join(t.TempDir(), "x.json") },
			`{"kind": "rackboot-state", "version": 1}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fillDataDir(t, dir)
			out := tt.out(dir)
			if tt.content != "" {
				writeFile(t, out, strings.TrimSpace(tt.content))
			}
			store := filepath.Join(dir, storeFile)
			before, beforeOut := readAll(t, store), readMaybe(out)
			_, _, err := runState(t, nil, "export", "--data-dir", dir, "-o", out)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("export -o %s = %v, want success", out, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("export -o %s = %v, want %q", out, err, tt.want)
			}
			if !bytes.Equal(before, readAll(t, store)) || !bytes.Equal(beforeOut, readMaybe(out)) {
				t.Errorf("export -o %s changed a file it refused", out)
			}
		})
	}
}

func readAll(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func readMaybe(name string) []byte {
	data, _ := os.ReadFile(name)
	return data
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestExportWritesValidJSON checks the file export writes is what
// inventory.ReadDump reads, indented for people to read.
func TestExportWritesValidJSON(t *testing.T) {
	dir := t.TempDir()
	want := fillDataDir(t, dir)
	stdout, _, err := runState(t, nil, "export", "--data-dir", dir, "-o", "-")
	if err != nil {
		t.Fatal(err)
	}
	got, err := inventory.ReadDump(bytes.NewReader([]byte(stdout)))
	if err != nil {
		t.Fatalf("ReadDump(export's output) = %v", err)
	}
	if diff := cmp.Diff(want, got, dumpOpts...); diff != "" {
		t.Errorf("export's output (-store +file):\n%s", diff)
	}
	if !strings.HasPrefix(stdout, "{\n  \"kind\": \"rackboot-state\",\n  \"version\": 1,\n") {
		t.Errorf("export's output starts %q, want indented JSON with kind and version first", stdout[:min(60, len(stdout))])
	}
}

// TestStateUsage checks that "rackboot help" and the help of export and
// import show the flags that pick and reach the Kubernetes store.
func TestStateUsage(t *testing.T) {
	store := []string{"--store", "--data-dir", "--store-kubeconfig", "--store-namespace"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"help", []string{"help"}, append(store, "--inventory")},
		{"export -h", []string{"export", "-h"}, append(store, "-o FILE")},
		{"import -h", []string{"import", "-h"}, append(store, "--inventory")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runState(t, nil, tt.args...)
			if err != nil && !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("run(%q) = %v", tt.args, err)
			}
			usage, _, _ := strings.Cut(stdout+stderr, "flags:")
			for _, w := range tt.want {
				if !strings.Contains(usage, w) {
					t.Errorf("usage of %q lacks %s:\n%s", tt.args, w, usage)
				}
			}
		})
	}
}

func TestProfilesSkipped(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  string
	}{
		{"one", []string{"tiny"}, "the dump's profile tiny (a Profile resource) was not imported: " +
			"the embedded store takes profiles from the inventory file; add it there"},
		{"two", []string{"tiny", "big"}, "the dump's 2 profiles (Profile resources: tiny, big) were not " +
			"imported: the embedded store takes profiles from the inventory file; add them there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []inventory.Profile
			for _, n := range tt.names {
				ps = append(ps, inventory.Profile{Name: n, Kernel: "k"})
			}
			if got := profilesSkipped(ps); got != tt.want {
				t.Errorf("profilesSkipped(%q) = %q, want %q", tt.names, got, tt.want)
			}
		})
	}
}
