package ignition

import (
	"fmt"
	"strings"

	butane "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	"github.com/rackboot/rackboot/inventory"
	"sigs.k8s.io/yaml"
)

// butaneVersion is a Butane variant and version.
type butaneVersion struct{ Variant, Version string }

// butaneFor maps an OS and Ignition spec version to the Butane variant and
// version that translate to that spec.
var butaneFor = map[inventory.IgnitionOS]map[string]butaneVersion{
	inventory.OSFlatcar: {
		inventory.SpecVersion33: {"flatcar", "1.0.0"},
		inventory.SpecVersion34: {"flatcar", "1.1.0"},
	},
	inventory.OSFCOS: {
		inventory.SpecVersion33: {"fcos", "1.4.0"},
		inventory.SpecVersion34: {"fcos", "1.5.0"},
	},
}

// translateButane translates the profile's Butane snippet into an
// Ignition config of the profile's spec version, or returns nil when there
// is none. A snippet without variant and version gets the pair that fits
// the profile; one that names another pair is refused. Butane's warnings
// count as errors, and local file references are refused (no files
// directory is given).
func translateButane(s *inventory.IgnitionSettings) ([]byte, error) {
	if strings.TrimSpace(s.Butane) == "" {
		return nil, nil
	}
	want := butaneFor[s.OS][s.Spec()]
	var got butaneVersion
	if err := yaml.Unmarshal([]byte(s.Butane), &got); err != nil {
		return nil, fmt.Errorf("butane snippet: %w", err)
	}
	doc, note := s.Butane, ""
	switch got {
	case butaneVersion{}:
		doc = fmt.Sprintf("variant: %s\nversion: %s\n%s", want.Variant, want.Version, doc)
		note = " (line numbers count 2 header lines rackboot added)"
	case want:
	default:
		return nil, fmt.Errorf("butane snippet: variant %q version %q does not translate to "+
			"ignition %s for %s; write variant: %s and version: %s, or leave both out",
			got.Variant, got.Version, s.Spec(), s.OS, want.Variant, want.Version)
	}
	out, rpt, err := butane.TranslateBytes([]byte(doc), common.TranslateBytesOptions{})
	if err != nil || len(rpt.Entries) > 0 {
		return nil, fmt.Errorf("butane snippet%s: %w", note, reportError(rpt, err))
	}
	return out, nil
}
