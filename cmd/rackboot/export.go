package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/rackboot/rackboot/internal/atomicfile"
	"github.com/rackboot/rackboot/inventory"
)

// storeFile is the store's file in the data directory, as
// inventory.OpenStore names it.
const storeFile = "rackboot.db"

const stateUsage = `usage: rackboot export [--store embedded] [--data-dir DIR] [-o FILE|-]
       rackboot export --store kubernetes [--store-kubeconfig FILE] [--store-namespace NS] [-o FILE|-]
       rackboot import [--store embedded] [--data-dir DIR] FILE|-
       rackboot import --store kubernetes [--store-kubeconfig FILE] [--store-namespace NS]
                       [--inventory FILE] FILE|-

export writes the whole state of a store (leases, machines declared
through the API or as Machine resources, Profile resources,
rejections, generations, reprovisions in flight, statuses and
timelines) as one JSON document to FILE, whole or not at all and
readable by its owner only, or to standard output. import reads such a
document into a store that holds no state yet. A dump of one store
imports into the other: that is how an inventory moves between the
embedded and the Kubernetes store.

The embedded store (in --data-dir) needs to be alone: stop rackboot
serve first. The Kubernetes store (--store kubernetes, with
--store-kubeconfig and --store-namespace as serve takes them) is read
while the replicas run; import into it before they start, into an
existing namespace. Moving from the embedded store, --inventory brings
the inventory file's profiles and machines along as Profile and Machine
resources; creating Profiles takes more than the replicas' Role
rackboot-store allows (docs/kubernetes.md).

flags:
`

// stateTarget is the store export or import works on: the embedded one
// in dir, or the Kubernetes one of kube.
type stateTarget struct {
	dir  string
	kube kubeTarget
}

// stateFlags returns the flag set of export or import, with the store's
// flags.
func stateFlags(name string, stderr io.Writer) (*flag.FlagSet, *stateTarget) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, stateUsage); fs.PrintDefaults() }
	t := &stateTarget{}
	fs.StringVar(&t.dir, "data-dir", defaultDataDir, "`directory` of the embedded store, as serve's --data-dir")
	t.kube.addFlags(fs)
	return fs, t
}

// parseStateArgs parses args into fs, flags and operands in any order,
// and returns the operands. Only the store's flags fall back to the
// environment (RACKBOOT_DATA_DIR, RACKBOOT_STORE, ...), as serve's do.
func parseStateArgs(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		operands = append(operands, fs.Arg(0))
		args = fs.Args()[1:]
	}
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, name := range []string{"data-dir", "store", "store-kubeconfig", "store-namespace"} {
		if v := getenv(envName(name)); v != "" && !given[name] {
			if err := fs.Set(name, v); err != nil {
				return nil, fmt.Errorf("%s: %w", envName(name), err)
			}
		}
	}
	return operands, nil
}

// exportState runs "rackboot export": it dumps the store of --data-dir to
// -o and says on stderr what it holds.
func exportState(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, target := stateFlags("export", stderr)
	out := fs.String("o", "-", "`file` to write the state to; - is standard output")
	operands, err := parseStateArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(operands) > 0 {
		return fmt.Errorf("export: unexpected argument %q (give the file with -o)", operands[0])
	}
	if err := target.check(getenv); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	dir := target.dir
	if !target.kube.on() {
		if _, err := os.Stat(filepath.Join(dir, storeFile)); err != nil {
			return fmt.Errorf("export: no store in %s (is --data-dir right?): %w", dir, err)
		}
	}
	if *out != "-" {
		if err := checkOutput(*out, filepath.Join(dir, storeFile)); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	d, err := target.dump()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	data = append(data, '\n')
	where := "standard output"
	if *out == "-" {
		_, err = stdout.Write(data)
	} else {
		where, err = *out, atomicfile.Write(*out, data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stderr, "rackboot: exported %s to %s\n", summarize(d), where)
	return nil
}

// checkOutput refuses to write a dump to out when out is the store file
// itself, or an existing non-empty file that is not a previous dump: a
// slip of -o must not replace a store or another file with JSON.
func checkOutput(out, store string) error {
	if samePath(out, store) {
		return fmt.Errorf("-o %s is the store itself; write the dump outside it", out)
	}
	fi, err := os.Stat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("-o %s is not a regular file", out)
	case fi.Size() == 0:
		return nil
	}
	if st, err := os.Stat(store); err == nil && os.SameFile(fi, st) {
		return fmt.Errorf("-o %s is the store itself; write the dump outside it", out)
	}
	if !isDump(out) {
		return fmt.Errorf("-o %s exists and is not a rackboot state dump; "+
			"remove it or choose another file (nothing was written)", out)
	}
	return nil
}

// samePath reports whether a and b name one path once made absolute and
// clean.
func samePath(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// isDump reports whether the file called name is a JSON document of a
// rackboot state dump's kind, whatever its version.
func isDump(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var head struct {
		Kind string `json:"kind"`
	}
	return json.NewDecoder(f).Decode(&head) == nil && head.Kind == inventory.DumpKind
}

// check resolves and checks the Kubernetes store's settings when it is
// the one chosen.
func (t *stateTarget) check(getenv func(string) string) error {
	return t.kube.resolve(getenv)
}

// dump dumps the target store.
func (t *stateTarget) dump() (inventory.Dump, error) {
	if t.kube.on() {
		var d inventory.Dump
		err := t.kube.with(func(b inventory.Backend) (err error) {
			d, err = b.Dump()
			return err
		})
		return d, err
	}
	s, err := openStore(t.dir)
	if err != nil {
		return inventory.Dump{}, err
	}
	defer s.Close()
	return s.Dump()
}

// restore restores d into the target store, which must hold no state.
func (t *stateTarget) restore(d inventory.Dump) error {
	if t.kube.on() {
		err := t.kube.with(func(b inventory.Backend) error { return b.Restore(d) })
		if errors.Is(err, inventory.ErrNotEmpty) {
			return fmt.Errorf("namespace %s already holds Machines or DHCPLeases; import only "+
				"into a namespace without rackboot state (nothing was changed): %w", t.kube.namespace, err)
		}
		return err
	}
	return restoreStore(t.dir, d)
}

// where names the target store for the summary line.
func (t *stateTarget) where() string {
	if t.kube.on() {
		return "the kubernetes store in namespace " + t.kube.namespace
	}
	return filepath.Join(t.dir, storeFile)
}

// openStore opens the store in dir. bbolt locks the file for one
// process, and inventory.OpenStore gives up after 2 seconds: then say
// who most likely holds it.
func openStore(dir string) (*inventory.Store, error) {
	s, err := inventory.OpenStore(dir)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("stop rackboot serve first (it holds %s)", filepath.Join(dir, storeFile))
	}
	return s, err
}

// importState runs "rackboot import FILE|-": it reads a dump, checks it
// whole, and restores it into the store of --data-dir, which must hold
// no state.
func importState(args []string, stdin io.Reader, stderr io.Writer, getenv func(string) string) error {
	fs, target := stateFlags("import", stderr)
	file := fs.String("inventory", "", "kubernetes store: inventory `file` whose profiles and machines "+
		"come along as Profile and Machine resources, with their provisioning")
	operands, err := parseStateArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		fs.Usage()
		return errUsage
	}
	if err := target.check(getenv); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	name := operands[0]
	d, err := readDump(name, stdin)
	if err != nil {
		return fmt.Errorf("import: %s: %w", name, err)
	}
	if *file != "" {
		if !target.kube.on() {
			return errors.New("import: --inventory needs --store kubernetes (the embedded store reads the file itself)")
		}
		if d, err = withInventory(d, *file, target.kube.namespace, stderr); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	if err := target.restore(d); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stderr, "rackboot: imported %s into %s\n", summarize(d), target.where())
	if len(d.Profiles) > 0 && !target.kube.on() {
		fmt.Fprintln(stderr, "rackboot:", profilesSkipped(d.Profiles))
	}
	return nil
}

// profilesSkipped says that import into the embedded store left out ps,
// the dump's Profile resources, and where they go instead.
func profilesSkipped(ps []inventory.Profile) string {
	const why = "the embedded store takes profiles from the inventory file"
	if len(ps) == 1 {
		return fmt.Sprintf("the dump's profile %s (a Profile resource) was not imported: %s; add it there",
			ps[0].Name, why)
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return fmt.Sprintf("the dump's %d profiles (Profile resources: %s) were not imported: %s; add them there",
		len(ps), strings.Join(names, ", "), why)
}

// readDump reads and checks the dump in the file called name, or on
// stdin for "-".
func readDump(name string, stdin io.Reader) (inventory.Dump, error) {
	if name == "-" {
		return inventory.ReadDump(stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return inventory.Dump{}, err
	}
	defer f.Close()
	return inventory.ReadDump(f)
}

// restoreStore opens (making it if needed) the store in dir and restores
// d into it.
func restoreStore(dir string, d inventory.Dump) error {
	s, err := openStore(dir)
	if err != nil {
		return err
	}
	err = s.Restore(d)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, inventory.ErrNotEmpty) {
		return fmt.Errorf("%s already holds state; import only into a new data directory "+
			"(nothing was changed): %w", filepath.Join(dir, storeFile), err)
	}
	return err
}

// summarize is the one-line account of d that export and import print.
func summarize(d inventory.Dump) string {
	events := 0
	for _, t := range d.Timelines {
		events += len(t.Events)
	}
	return fmt.Sprintf("%s, %s, %s, %s",
		count(len(d.Timelines), "timeline"), count(len(d.Machines), "declared machine"),
		count(len(d.Leases), "lease"), count(events, "event"))
}

// count says "1 lease" or "2 leases".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
