package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

const assetsUsage = `usage: rackboot assets import [--assets-dir DIR] [--name NAME] FILE...
       rackboot assets fetch [--assets-dir DIR] --name NAME --sha512 HEX|--sha256 HEX
                             [--timeout DURATION] [--max-bytes N] URL

import copies each FILE into the assets directory, under NAME (one FILE
only) or its own base name. fetch downloads URL (http or https) under
NAME and keeps it only if its sums match the ones given. Both print the
size, sha256 (a profile's sha256 map) and sha512 (an ignition profile's
kubelet and crio) as YAML. A file lands under its final name complete or
not at all.
`

// assets runs "rackboot assets SUBCOMMAND".
func assets(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, assetsUsage)
		return nil
	}
	switch {
	case len(args) > 0 && args[0] == "import":
		return assetsImport(args[1:], stdout, stderr, getenv)
	case len(args) > 0 && args[0] == "fetch":
		return assetsFetch(args[1:], stdout, stderr, getenv)
	}
	fmt.Fprint(stderr, assetsUsage)
	return errUsage
}

// importItem is one file to import: from src to dest inside the assets
// directory.
type importItem struct {
	src, dest string
}

// assetSums is what a profile needs to know of an imported file.
type assetSums struct {
	bytes          int64
	sha256, sha512 string
}

func assetsImport(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	flags := flag.NewFlagSet("assets import", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, assetsUsage); flags.PrintDefaults() }
	dir := flags.String("assets-dir", "/var/lib/rackboot/assets", "`directory` of assets, as rackboot serve's --assets-dir")
	name := flags.String("name", "", "`path` inside the assets directory for the one FILE (default: FILE's base name)")
	files, err := parseImportArgs(flags, args, getenv)
	if err != nil {
		return err
	}
	items, err := planImport(files, *name)
	if err != nil {
		return err
	}
	root, err := openAssetsRoot(*dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, it := range items {
		sums, err := importFile(root, it)
		if err != nil {
			return err
		}
		printSums(stdout, it.dest, sums)
	}
	return nil
}

// printSums prints what a profile needs to know of the asset name as a
// YAML map entry.
func printSums(w io.Writer, name string, sums assetSums) {
	fmt.Fprintf(w, "%q:\n  bytes: %d\n  sha256: %q\n  sha512: %q\n",
		name, sums.bytes, sums.sha256, sums.sha512)
}

// parseImportArgs parses flags and FILE arguments, which may come in any
// order. --assets-dir falls back to RACKBOOT_ASSETS_DIR, as serve's does;
// --name belongs to one call and has no variable.
func parseImportArgs(flags *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var files []string
	for {
		if err := flags.Parse(args); err != nil {
			return nil, err
		}
		if flags.NArg() == 0 {
			break
		}
		files = append(files, flags.Arg(0))
		args = flags.Args()[1:]
	}
	given := false
	flags.Visit(func(f *flag.Flag) { given = given || f.Name == "assets-dir" })
	if v := getenv(envName("assets-dir")); v != "" && !given {
		if err := flags.Set("assets-dir", v); err != nil {
			return nil, fmt.Errorf("setting assets-dir from %s: %w", envName("assets-dir"), err)
		}
	}
	return files, nil
}

// planImport decides where each file goes and refuses the whole import
// before copying anything when a destination is bad.
func planImport(files []string, name string) ([]importItem, error) {
	switch {
	case len(files) == 0:
		return nil, errors.New("assets import: no FILE given")
	case name != "" && len(files) > 1:
		return nil, fmt.Errorf("name: names one file, and %d are given", len(files))
	}
	items := make([]importItem, 0, len(files))
	from := map[string]string{}
	for _, f := range files {
		it := importItem{src: f, dest: name}
		setting := "name"
		if name == "" {
			it.dest, setting = filepath.Base(f), "file "+f
		}
		if err := checkAssetName(it.dest); err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		if prev, ok := from[it.dest]; ok {
			return nil, fmt.Errorf("files %s and %s would both be %s", prev, f, it.dest)
		}
		from[it.dest] = f
		items = append(items, it)
	}
	return items, nil
}

// checkAssetName accepts the relative paths a profile may name: slash
// separated, no "." or ".." element, no backslash.
func checkAssetName(name string) error {
	if !fs.ValidPath(name) || name == "." || strings.Contains(name, `\`) {
		return fmt.Errorf("%q is not a relative path inside the assets directory", name)
	}
	return nil
}

// importFile copies it.src to it.dest inside root through a temporary
// file, synced and then renamed, and returns the copy's sums. root refuses
// a destination that a symbolic link would lead out of the directory.
func importFile(root *os.Root, it importItem) (assetSums, error) {
	in, err := os.Open(it.src)
	if err != nil {
		return assetSums{}, fmt.Errorf("importing: %w", err)
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() {
		return assetSums{}, fmt.Errorf("importing %s: not a regular file", it.src)
	}
	dir := path.Dir(it.dest)
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return assetSums{}, fmt.Errorf("importing %s: %w", it.src, err)
	}
	tmp := path.Join(dir, "."+path.Base(it.dest)+".import-"+rand.Text()[:8])
	sums, err := writeSummed(root, tmp, in)
	if err == nil {
		err = root.Rename(tmp, it.dest)
	}
	if err != nil {
		root.Remove(tmp)
		return assetSums{}, fmt.Errorf("importing %s as %s: %w", it.src, it.dest, err)
	}
	return sums, syncDir(root, dir)
}

// writeSummed writes r to a new file name in root, synced to disk, and
// returns the sums of what it wrote.
func writeSummed(root *os.Root, name string, r io.Reader) (assetSums, error) {
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return assetSums{}, err
	}
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(out, h256, h512), r)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return assetSums{bytes: n, sha256: hex.EncodeToString(h256.Sum(nil)),
		sha512: hex.EncodeToString(h512.Sum(nil))}, err
}

// syncDir makes a rename in dir durable.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
