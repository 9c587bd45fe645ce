package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// bmcAnswer is what the power and pxe-once routes return.
type bmcAnswer struct {
	Machine    string `json:"machine"`
	Action     string `json:"action"`
	Protocol   string `json:"protocol"`
	Power      string `json:"power"`
	Detail     string `json:"detail"`
	DurationMS int64  `json:"duration_ms"`
}

// power runs "rackboot power MACHINE status|on|off|cycle|reset".
func power(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, cs := apiFlags("power", "MACHINE status|on|off|cycle|reset", stderr)
	ops, err := parseCommand(fs, cs, args, getenv, 2)
	if err != nil {
		return err
	}
	c, err := cs.client(getenv)
	if err != nil {
		return err
	}
	body := map[string]any{"action": ops[1]}
	return bmcCall(ctx, c, ops[0], "power", body, stdout)
}

// pxeOnce runs "rackboot pxe-once [--persistent] MACHINE".
func pxeOnce(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, cs := apiFlags("pxe-once", "[--persistent] MACHINE", stderr)
	persistent := fs.Bool("persistent", false, "boot from the network on every boot, not only the next")
	ops, err := parseCommand(fs, cs, args, getenv, 1)
	if err != nil {
		return err
	}
	c, err := cs.client(getenv)
	if err != nil {
		return err
	}
	body := map[string]any{"persistent": *persistent}
	return bmcCall(ctx, c, ops[0], "pxe-once", body, stdout)
}

// bmcTimeout bounds a BMC call of the CLI; the server's own bound is 14
// minutes, for a soft power off that waits for the OS.
const bmcTimeout = 16 * time.Minute

// bmcCall posts body to the machine's BMC route and prints the answer.
func bmcCall(ctx context.Context, c *apiClient, machine, route string, body any, stdout io.Writer) error {
	path := "/api/v1/machines/" + url.PathEscape(machine) + "/" + route
	var ans bmcAnswer
	if err := c.callWithin(ctx, bmcTimeout, http.MethodPost, path, body, &ans); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s via %s in %s", ans.Machine, ans.Action, ans.Protocol,
		time.Duration(ans.DurationMS)*time.Millisecond)
	if ans.Power != "" {
		fmt.Fprintf(stdout, ": power %s", ans.Power)
	}
	if ans.Detail != "" {
		fmt.Fprintf(stdout, " (%s)", ans.Detail)
	}
	fmt.Fprintln(stdout)
	return nil
}
