package inventory

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// CheckNodeLabel reports whether key=value is a valid Kubernetes label
// that a kubelet may set on its own Node. The NodeRestriction admission
// plugin, and the kubelet itself at start, refuse keys in the kubernetes.io
// and k8s.io namespaces other than a few well-known ones and those under
// kubelet.kubernetes.io and node.kubernetes.io.
func CheckNodeLabel(key, value string) error {
	if err := checkQualifiedName(key); err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	if err := checkLabelValue(value); err != nil {
		return fmt.Errorf("value %q: %w", value, err)
	}
	if !kubeletMaySet(key) {
		return fmt.Errorf("key %q: a kubelet may not set labels in the kubernetes.io "+
			"or k8s.io namespaces (use node.kubernetes.io/ or your own prefix)", key)
	}
	return nil
}

var (
	labelNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	subdomainPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// checkQualifiedName checks a label or taint key: an optional DNS
// subdomain prefix and "/", then a name of at most 63 characters.
func checkQualifiedName(key string) error {
	prefix, name, found := strings.Cut(key, "/")
	if !found {
		prefix, name = "", key
	}
	if found && (len(prefix) > 253 || !subdomainPattern.MatchString(prefix)) {
		return errors.New("prefix is not a lower-case DNS subdomain")
	}
	if len(name) > 63 || !labelNamePattern.MatchString(name) {
		return errors.New("name is not 1-63 letters, digits, '-', '_' and '.' " +
			"starting and ending with a letter or digit")
	}
	return nil
}

func checkLabelValue(v string) error {
	if v != "" && (len(v) > 63 || !labelNamePattern.MatchString(v)) {
		return errors.New("not empty or 1-63 letters, digits, '-', '_' and '.' " +
			"starting and ending with a letter or digit")
	}
	return nil
}

// kubeletLabels are the kubernetes.io labels a kubelet may set itself.
var kubeletLabels = []string{
	"kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
	"beta.kubernetes.io/arch", "beta.kubernetes.io/os",
	"beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
	"failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
	"topology.kubernetes.io/region", "topology.kubernetes.io/zone",
}

func kubeletMaySet(key string) bool {
	prefix, _, found := strings.Cut(key, "/")
	if !found || !inNamespace(prefix, "kubernetes.io") && !inNamespace(prefix, "k8s.io") {
		return true
	}
	return slices.Contains(kubeletLabels, key) ||
		inNamespace(prefix, "kubelet.kubernetes.io") || inNamespace(prefix, "node.kubernetes.io")
}

func inNamespace(prefix, ns string) bool {
	return prefix == ns || strings.HasSuffix(prefix, "."+ns)
}
