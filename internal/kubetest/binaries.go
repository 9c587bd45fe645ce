package kubetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Version is the Kubernetes release the harness runs; tools/kube pins it.
const Version = "v1.37.2"

// Environment variables the harness reads.
const (
	// EnvBin names the folder holding the binaries; the default is
	// DefaultBin.
	EnvBin = "RACKBOOT_KUBE_BIN"
	// EnvBuild set to 1 lets the harness run tools/kube/build.sh when a
	// binary is missing, instead of skipping the test.
	EnvBuild = "RACKBOOT_KUBE_BUILD"
)

// DefaultBin is where tools/kube/build.sh puts the binaries by default.
const DefaultBin = "/var/cache/rackboot/kube/" + Version

// binaries are the programs Start runs, by file name.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// errSkip marks a missing prerequisite: the test is skipped, not failed.
var errSkip = errors.New("skipping")

// binDir returns the folder with every binary in it, building them first
// when EnvBuild allows it. The error wraps errSkip when they are missing
// and may not be built.
func binDir() (string, error) {
	dir := os.Getenv(EnvBin)
	if dir == "" {
		dir = DefaultBin
	}
	missing := missingBinaries(dir)
	if missing == "" {
		return dir, nil
	}
	if os.Getenv(EnvBuild) != "1" {
		return "", fmt.Errorf("%w: kubernetes test binaries: %s is not in %s; "+
			"run tools/kube/build.sh (about 13 minutes cold) or set %s=1",
			errSkip, missing, dir, EnvBuild)
	}
	if err := build(dir); err != nil {
		return "", err
	}
	if missing := missingBinaries(dir); missing != "" {
		return "", fmt.Errorf("tools/kube/build.sh left %s out of %s", missing, dir)
	}
	return dir, nil
}

// missingBinaries names the first binary not executable in dir, or "".
func missingBinaries(dir string) string {
	for _, name := range binaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return name
		}
	}
	return ""
}

// build runs tools/kube/build.sh into dir, without kubectl.
func build(dir string) error {
	script, err := buildScript()
	if err != nil {
		return err
	}
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), EnvBin+"="+dir, "RACKBOOT_KUBECTL=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("running %s: %w\n%s", script, err, out)
	}
	return nil
}

// buildScript finds tools/kube/build.sh by walking up from the working
// directory, which go test sets to the package under test.
func buildScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding tools/kube/build.sh: %w", err)
	}
	for {
		p := filepath.Join(dir, "tools", "kube", "build.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding tools/kube/build.sh: not above the working directory")
		}
		dir = parent
	}
}
