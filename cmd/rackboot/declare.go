package main

import (
	"context"
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
