package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// labelFlags collects repeated --label key=value flags.
type labelFlags map[string]string

func (l labelFlags) String() string {
	var kv []string
	for k, v := range l {
		kv = append(kv, k+"="+v)
	}
	return strings.Join(kv, ",")
}

func (l labelFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	l[k] = v
	return nil
}

// acceptRequest is the body of POST /api/v1/machines/{mac}/accept.
type acceptRequest struct {
	Name    string            `json:"name"`
	Profile string            `json:"profile"`
	Labels  map[string]string `json:"labels,omitempty"`
	Address string            `json:"address,omitempty"`
	Arch    string            `json:"arch,omitempty"`
}

// accept runs "rackboot accept MAC --name N --profile P [--label k=v]...".
func accept(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, cs := apiFlags("accept", "MAC --name NAME --profile PROFILE [--label key=value]...", stderr)
	body := acceptRequest{Labels: labelFlags{}}
	fs.StringVar(&body.Name, "name", "", "the machine's `name` (required)")
	fs.StringVar(&body.Profile, "profile", "", "the `profile` it boots (required)")
	fs.Var(labelFlags(body.Labels), "label", "a `key=value` label; repeat for more")
	fs.StringVar(&body.Address, "address", "", "IPv4 `address` to reserve for it (authoritative mode)")
	fs.StringVar(&body.Arch, "arch", "", "`arch` to boot it as, instead of what it claims")
	operands, err := parseCommand(fs, cs, args, getenv, 1)
	if err != nil {
		return err
	}
	if body.Name == "" || body.Profile == "" {
		fmt.Fprintln(stderr, "rackboot accept: --name and --profile are required")
		fs.Usage()
		return errUsage
	}
	c, err := cs.client(getenv)
	if err != nil {
		return err
	}
	var m machineRow
	path := "/api/v1/machines/" + url.PathEscape(operands[0]) + "/accept"
	if err := c.call(ctx, http.MethodPost, path, body, &m); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "accepted %s as %s, profile %s: it boots its profile from its next DHCP request\n",
		strings.Join(m.MACs, ","), m.Name, m.Profile)
	return nil
}

// reject runs "rackboot reject [--undo] MAC".
func reject(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, cs := apiFlags("reject", "[--undo] MAC", stderr)
	undo := fs.Bool("undo", false, "take the rejection back")
	operands, err := parseCommand(fs, cs, args, getenv, 1)
	if err != nil {
		return err
	}
	c, err := cs.client(getenv)
	if err != nil {
		return err
	}
	method, done := http.MethodPost, "rejected: rackboot ignores its DHCP until it is accepted"
	if *undo {
		method, done = http.MethodDelete, "no longer rejected"
	}
	path := "/api/v1/machines/" + url.PathEscape(operands[0]) + "/reject"
	if _, err := c.fetch(ctx, apiTimeout, method, path, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", operands[0], done)
	return nil
}

// apiFlags returns the flag set of a command that calls the API, with the
// client flags on it.
func apiFlags(name, operands string, stderr io.Writer) (*flag.FlagSet, *clientSettings) {
	return bmcFlags(name, operands, stderr)
}

// operandCount says how the operands given differ from the n wanted.
func operandCount(n int, got []string) string {
	switch {
	case len(got) < n:
		return fmt.Sprintf("want %d operand(s), got %d", n, len(got))
	default:
		return fmt.Sprintf("unexpected argument %q", got[n])
	}
}

// parseCommand parses args, flags and exactly n operands in any order
// ("accept MAC --name N" as well as "accept --name N MAC"), and fills the
// client flags not given from the environment. The command's own flags
// are not read from the environment: RACKBOOT_NAME should not name a
// machine.
func parseCommand(fs *flag.FlagSet, cs *clientSettings, args []string,
	getenv func(string) string, n int) ([]string, error) {
	operands, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(operands) != n {
		fmt.Fprintf(fs.Output(), "rackboot %s: %s\n", fs.Name(), operandCount(n, operands))
		fs.Usage()
		return nil, errUsage
	}
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	cfs := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	cs.addFlags(cfs) // resets cs to the defaults: set again what was given
	for name, v := range given {
		if cfs.Lookup(name) != nil {
			cfs.Set(name, v)
		}
	}
	return operands, applyDefaults(cfs, getenv)
}
