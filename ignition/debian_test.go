package ignition

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGoldenIgnitionValidate runs Debian's ignition-validate (package
// ignition, Ignition 2.14: spec 3.0 to 3.3) on every golden config.
func TestGoldenIgnitionValidate(t *testing.T) {
	validate, err := exec.LookPath("ignition-validate")
	if err != nil {
		t.Skip("ignition-validate not installed (apt-get install ignition)")
	}
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.ign"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden configs in %s: %v", goldenDir, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command(validate, f).CombinedOutput()
			if err != nil || len(out) > 0 {
				t.Errorf("ignition-validate %s = %v, output:\n%s", f, err, out)
			}
		})
	}
}
