package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

const convertUsage = `usage: rackboot convert [--inventory FILE] [--namespace NS]

convert prints the profiles and machines of an inventory file as
Profile and Machine resources, YAML documents for kubectl apply, so
that the Kubernetes store keeps them (and their provisioning) instead
of the file. A BMC whose credentials the file names by a file or an
environment variable gets the Secret "<machine>-bmc" instead; the
Secrets to create are listed on standard error.

flags:
`

// convert runs "rackboot convert".
func convert(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, convertUsage); fs.PrintDefaults() }
	file := fs.String("inventory", "/etc/rackboot/inventory.yaml", "inventory YAML `file`, as serve's --inventory")
	ns := fs.String("namespace", "rackboot", "`namespace` of the resources: the Kubernetes store's --store-namespace")
	if err := parseSettings(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("convert: unexpected argument %q", fs.Arg(0))
	}
	if errs := validation.IsDNS1123Label(*ns); len(errs) > 0 {
		return fmt.Errorf("convert: namespace: %q is not a namespace name: %s", *ns, errs[0])
	}
	c, err := inventory.LoadCatalog(*file)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	for _, p := range c.Profiles() {
		if err := writeResource(stdout, v1alpha1.ProfileFromInventory(p), *ns); err != nil {
			return err
		}
	}
	for _, m := range c.Machines() {
		m = secretCredentials(m, *ns, stderr)
		if err := writeResource(stdout, v1alpha1.MachineFromInventory(m, v1alpha1.CredentialsSecretRef{}), *ns); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "rackboot: converted %s and %s of %s\n",
		count(len(c.Profiles()), "profile"), count(len(c.Machines()), "machine"), *file)
	return nil
}

// secretCredentials returns m with BMC credentials the file keeps in a
// file or an environment variable, which a cluster cannot read, moved
// to the Secret "<machine>-bmc", and says on w which Secret to create.
func secretCredentials(m inventory.Machine, ns string, w io.Writer) inventory.Machine {
	if m.BMC == nil || m.BMC.CredentialsSecret != nil {
		return m
	}
	ref := &inventory.SecretRef{Name: m.Name + "-bmc"}
	fmt.Fprintf(w, "rackboot: machine %s: create Secret %s/%s with keys username and password "+
		"(its BMC credentials were in %s)\n", m.Name, ns, ref.Name, credentialsSource(m.BMC))
	b := *m.BMC
	b.CredentialsFile, b.CredentialsEnv, b.CredentialsSecret = "", "", ref
	m.BMC = &b
	return m
}

// withInventory returns d with the profiles and machines of the
// inventory file added, as the Kubernetes store keeps them: moving from
// the embedded store, the file's machines must become Machines for
// their generations and reprovisions to be kept.
func withInventory(d inventory.Dump, file, ns string, w io.Writer) (inventory.Dump, error) {
	c, err := inventory.LoadCatalog(file)
	if err != nil {
		return d, err
	}
	d.Profiles = append(d.Profiles, c.Profiles()...)
	for _, m := range c.Machines() {
		d.Machines = append(d.Machines, secretCredentials(m, ns, w))
	}
	if err := d.Validate(); err != nil {
		return d, fmt.Errorf("the dump with %s: %w", file, err)
	}
	return d, nil
}

// credentialsSource says where the file keeps a BMC's credentials.
func credentialsSource(b *inventory.BMC) string {
	if b.CredentialsFile != "" {
		return "file " + b.CredentialsFile
	}
	return "environment variable " + b.CredentialsEnv
}

// writeResource writes obj as one YAML document in namespace ns, without
// the empty status and server-set fields a new object has.
func writeResource(w io.Writer, obj any, ns string) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	delete(doc, "status")
	meta, _ := doc["metadata"].(map[string]any)
	delete(meta, "creationTimestamp")
	meta["namespace"] = ns
	out, err := yaml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	_, err = fmt.Fprintf(w, "---\n%s", out)
	return err
}
