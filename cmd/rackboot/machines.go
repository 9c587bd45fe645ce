package main

import (
	"bytes"
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

// machines runs "rackboot machines [flags]".
func machines(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("machines", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cs clientSettings
	cs.addFlags(fs)
	asJSON := fs.Bool("json", false, "print the server's JSON as it came")
	if err := parseSettings(fs, args, getenv); err != nil {
		return err
	}
	c, err := cs.client(getenv)
	if err != nil {
		return err
	}
	const path = "/api/v1/machines"
	body, err := c.fetch(ctx, apiTimeout, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	rows, err := machinePages(ctx, c, body)
	if err != nil {
		return fmt.Errorf("decoding answer of %s: %w", c.base+path, err)
	}
	return printMachines(stdout, rows)
}

// machinePage is a page of GET /api/v1/machines.
type machinePage struct {
	Items  []machineRow `json:"items"`
	Total  int          `json:"total"`
	Offset int          `json:"offset"`
}

// machinePages decodes the first answer of GET /api/v1/machines and asks
// for the pages after it until it has them all. Older servers answer a
// bare list of every machine.
func machinePages(ctx context.Context, c *apiClient, first []byte) ([]machineRow, error) {
	if bytes.HasPrefix(bytes.TrimSpace(first), []byte("[")) {
		var rows []machineRow
		return rows, json.Unmarshal(first, &rows)
	}
	var page machinePage
	if err := json.Unmarshal(first, &page); err != nil {
		return nil, err
	}
	rows := page.Items
	for len(page.Items) > 0 && len(rows) < page.Total {
		path := fmt.Sprintf("/api/v1/machines?offset=%d", page.Offset+len(page.Items))
		page = machinePage{}
		if err := c.call(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		rows = append(rows, page.Items...)
	}
	return rows, nil
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
