package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// explanation is the body of GET /api/v1/machines/{id}/explain.
type explanation struct {
	Machine *machineRow `json:"machine"`
	MAC     string      `json:"mac"`
	Profile *struct {
		Name string `json:"name"`
	} `json:"profile"`
	Arch     string          `json:"arch"`
	EFI      bool            `json:"efi"`
	Script   string          `json:"script"`
	Ignition json.RawMessage `json:"ignition"`
	Notes    []string        `json:"notes"`
}

// explain runs "rackboot explain [--arch A] [--ignition] MAC|NAME".
func explain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, cs := apiFlags("explain", "[--arch ARCH] [--ignition] MAC|NAME", stderr)
	arch := fs.String("arch", "", "render for this `arch` (bios, x64-efi, ...) instead of the machine's")
	withIgnition := fs.Bool("ignition", false, "print the machine's Ignition config too, secrets redacted")
	operands, err := parseCommand(fs, cs, args, getenv, 1)
	if err != nil {
		return err
	}
	c, err := cs.client(getenv)
	if err != nil {
		return err
	}
	path := "/api/v1/machines/" + url.PathEscape(operands[0]) + "/explain"
	if *arch != "" {
		path += "?arch=" + url.QueryEscape(*arch)
	}
	var x explanation
	if err := c.call(ctx, http.MethodGet, path, nil, &x); err != nil {
		return err
	}
	return printExplanation(stdout, x, *withIgnition)
}

// printExplanation prints what x says: who, the notes, the script and,
// when asked, the Ignition config.
func printExplanation(w io.Writer, x explanation, withIgnition bool) error {
	who := "no machine declares " + x.MAC
	if x.Machine != nil && x.Machine.Name != "" {
		who = fmt.Sprintf("machine %s (%s)", x.Machine.Name, x.MAC)
	}
	if x.Profile != nil {
		firmware := "BIOS"
		if x.EFI {
			firmware = "UEFI"
		}
		who += fmt.Sprintf(", profile %s, %s (%s)", x.Profile.Name, x.Arch, firmware)
	}
	fmt.Fprintln(w, who)
	for _, n := range x.Notes {
		fmt.Fprintln(w, "  - "+n)
	}
	fmt.Fprintln(w, "\nscript:")
	if x.Script == "" {
		fmt.Fprintln(w, "  (none: see the notes)")
	}
	io.WriteString(w, x.Script)
	if !withIgnition {
		return nil
	}
	fmt.Fprintln(w, "\nignition:")
	if len(x.Ignition) == 0 || string(x.Ignition) == "null" {
		fmt.Fprintln(w, "  (none: see the notes)")
		return nil
	}
	text, err := readableJSON(x.Ignition)
	if err != nil {
		return fmt.Errorf("decoding the ignition config: %w", err)
	}
	_, err = io.WriteString(w, text)
	return err
}

// readableJSON indents raw, leaving <redacted> as it is rather than
// escaped for HTML.
func readableJSON(raw []byte) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimRight(b.String(), "\n") + "\n", nil
}
