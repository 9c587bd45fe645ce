package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rackboot/rackboot/deploy/crds"
)

const installCRDsUsage = `usage: rackboot install-crds [--kubeconfig FILE] [--dry-run] [--timeout D]

install-crds applies the CustomResourceDefinitions of rackboot's three
resources, Machine, Profile and DHCPLease (rackboot.io/v1alpha1), to a
cluster with server-side apply, waits until the API server serves each,
and prints what it did to each. Run it before the first replica of the
Kubernetes store starts, and again after an upgrade.

flags:
`

// installCRDs runs "rackboot install-crds": it applies the CRDs of
// rackboot's Machine, Profile and DHCPLease resources to a cluster and waits until
// the API server serves them, printing what it did to each.
func installCRDs(ctx context.Context, args []string, stdout, stderr io.Writer,
	getenv func(string) string) error {
	fs := flag.NewFlagSet("install-crds", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, installCRDsUsage); fs.PrintDefaults() }
	kubeconfig := fs.String("kubeconfig", "",
		"kubeconfig `file` of the cluster (default $KUBECONFIG, ~/.kube/config, "+
			"or the pod's service account)")
	dryRun := fs.Bool("dry-run", false,
		"have the API server check the CRDs and say what would change, keeping nothing")
	timeout := fs.Duration("timeout", crds.DefaultTimeout,
		"how long to wait for each CRD to be established")
	if err := parseSettings(fs, args, getenv); err != nil {
		return err
	}
	rc, err := kubeClientConfig(*kubeconfig, "kubeconfig")
	if err != nil {
		return fmt.Errorf("install-crds: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("install-crds: %w", err)
	}
	results, err := crds.Install(ctx, dyn, crds.Options{DryRun: *dryRun, Timeout: *timeout})
	for _, r := range results {
		fmt.Fprintln(stdout, describeResult(r, *dryRun))
	}
	if err != nil {
		return fmt.Errorf("install-crds: %w", err)
	}
	return nil
}

// describeResult is the line install-crds prints for r, such as
// "machines.rackboot.io created, established".
func describeResult(r crds.Result, dryRun bool) string {
	switch {
	case dryRun:
		return fmt.Sprintf("%s %s (dry run: nothing kept)", r.Name, r.Action)
	case r.Established:
		return fmt.Sprintf("%s %s, established", r.Name, r.Action)
	}
	return fmt.Sprintf("%s %s, not established", r.Name, r.Action)
}

// kubeClientConfig loads the kubeconfig at path or, when path is empty,
// the one kubectl would use: $KUBECONFIG, ~/.kube/config, or the pod's
// service account inside a cluster. flag names the setting path comes
// from, for the error when there is none.
func kubeClientConfig(path, flag string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		return nil, fmt.Errorf("no kubeconfig: pass --%s FILE or set %s "+
			"(or KUBECONFIG, or ~/.kube/config as kubectl reads it, or run in a pod)", flag, envName(flag))
	}
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	return rc, nil
}
