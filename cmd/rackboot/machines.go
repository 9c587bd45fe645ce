package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	// Address is the machine's reservation, shown until it is seen.
	Address string `json:"address"`
	// Node is set when the registration tracker follows the machine.
	Node     string `json:"node"`
	Rejected bool   `json:"rejected"`
	// Conflict says why a reload of the inventory file left this API
	// machine out of the catalog.
	Conflict  string `json:"conflict"`
	LastEvent *struct {
		Kind string    `json:"kind"`
		Time time.Time `json:"time"`
	} `json:"last_event"`
}

// machines runs "rackboot machines [--state S] [--profile P] [--label k=v]...
// [--source file|api|discovered] [-q TEXT] [--json]".
func machines(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, cs := apiFlags("machines", "", stderr)
	asJSON := fs.Bool("json", false, "print the server's JSON of the first page as it came")
	query := url.Values{}
	for _, name := range []string{"state", "profile", "source", "q"} {
		fs.Func(name, filterUsage[name], func(v string) error { query.Set(name, v); return nil })
	}
	fs.Func("label", "only machines with this `key=value` label; repeat for more", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("%q is not key=value", v)
		}
		query.Add("label", v)
		return nil
	})
	if _, err := parseCommand(fs, cs, args, getenv, 0); err != nil {
		return err
	}
	c, err := cs.client(getenv)
	if err != nil {
		return err
	}
	path := machinesPath(query, 0)
	body, err := c.fetch(ctx, apiTimeout, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	rows, err := machinePages(ctx, c, body, query)
	if err != nil {
		return fmt.Errorf("decoding answer of %s: %w", c.base+path, err)
	}
	return printMachines(stdout, rows)
}

// filterUsage describes the filters of "rackboot machines".
var filterUsage = map[string]string{
	"state":   "only machines in this `state` (discovered, booting, ready, failed, ...)",
	"profile": "only machines of this `profile`",
	"source":  "only machines declared in the inventory `file`, through the api, or discovered",
	"q":       "only machines whose name, MAC, address, profile, Node or label holds this `text`",
}

// machinesPath is the path of the page at offset of the machines that
// pass query's filters.
func machinesPath(query url.Values, offset int) string {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if len(q) == 0 {
		return "/api/v1/machines"
	}
	return "/api/v1/machines?" + q.Encode()
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
func machinePages(ctx context.Context, c *apiClient, first []byte, query url.Values) ([]machineRow, error) {
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
		path := machinesPath(query, page.Offset+len(page.Items))
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
		state := dash(r.State)
		if r.Rejected {
			state += ",rejected"
		}
		if r.Conflict != "" {
			state += ",left-out"
		}
		cols := []string{dash(r.Name), strings.Join(r.MACs, ","), dash(r.Profile),
			state, dash(cmp.Or(r.IP, r.Address)), event, when}
		if nodes {
			cols = slices.Insert(cols, 4, dash(r.Node))
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Conflict != "" {
			fmt.Fprintf(w, "%s is left out of the inventory: %s\n", dash(r.Name), r.Conflict)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
