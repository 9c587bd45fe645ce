package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// machineRow is what GET /api/v1/machines returns for each machine; only
// the fields the table shows are decoded.
type machineRow struct {
	Name    string   `json:"name"`
	MACs    []string `json:"macs"`
	Profile string   `json:"profile"`
	State   string   `json:"state"`
	IP      string   `json:"ip"`
	// Node is set when the registration tracker follows the machine.
	Node      string `json:"node"`
	LastEvent *struct {
		Kind string    `json:"kind"`
		Time time.Time `json:"time"`
	} `json:"last_event"`
}

func machines(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("machines", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "base `URL` of a running rackboot")
	asJSON := fs.Bool("json", false, "print the server's JSON as it came")
	if err := parseSettings(fs, args, getenv); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := strings.TrimRight(*server, "/") + "/api/v1/machines"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading answer of %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("asking %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var rows []machineRow
	if err := json.Unmarshal(body, &rows); err != nil {
		return fmt.Errorf("decoding answer of %s: %w", url, err)
	}
	return printMachines(stdout, rows)
}

// printMachines prints rows as a table; the NODE column shows only when
// a row has a Node (the registration tracker runs).
func printMachines(w io.Writer, rows []machineRow) error {
	nodes := slices.ContainsFunc(rows, func(r machineRow) bool { return r.Node != "" })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"NAME", "MACS", "PROFILE", "STATE", "ADDRESS", "LAST EVENT", "TIME"}
	if nodes {
		head = slices.Insert(head, 4, "NODE")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		event, when := "-", "-"
		if r.LastEvent != nil && r.LastEvent.Kind != "" {
			event = r.LastEvent.Kind
			when = r.LastEvent.Time.Local().Format(time.DateTime)
		}
		cols := []string{dash(r.Name), strings.Join(r.MACs, ","), dash(r.Profile),
			dash(r.State), dash(r.IP), event, when}
		if nodes {
			cols = slices.Insert(cols, 4, dash(r.Node))
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
