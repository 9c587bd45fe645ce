package ignition

import (
	"errors"
	"fmt"

	json "github.com/clarketm/json" // omits empty structs, as Ignition's own tools do
	v33 "github.com/coreos/ignition/v2/config/v3_3"
	v33types "github.com/coreos/ignition/v2/config/v3_3/types"
	v34 "github.com/coreos/ignition/v2/config/v3_4"
	v34translate "github.com/coreos/ignition/v2/config/v3_4/translate"
	"github.com/coreos/vcontext/report"
	"github.com/rackboot/rackboot/inventory"
)

// assemble turns base into a config of spec version, merges snippet (an
// Ignition config of that version, or nil) on top, encodes the result and
// validates it.
func assemble(base v33types.Config, version string, snippet []byte) ([]byte, error) {
	switch version {
	case inventory.SpecVersion33:
		return finish(base, snippet, v33.Parse, v33.Merge)
	case inventory.SpecVersion34:
		return finish(v34translate.Translate(base), snippet, v34.Parse, v34.Merge)
	}
	return nil, fmt.Errorf("ignition spec %q: rackboot renders 3.3.0 and 3.4.0", version)
}

// parser is the Parse function of one spec version's config package.
type parser[C any] func([]byte) (C, report.Report, error)

func finish[C any](base C, snippet []byte, parse parser[C], merge func(C, C) C) ([]byte, error) {
	cfg := base
	if snippet != nil {
		child, err := parseClean(snippet, parse)
		if err != nil {
			return nil, fmt.Errorf("butane snippet: %w", err)
		}
		cfg = merge(base, child)
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	out = append(out, '\n')
	if _, err := parseClean(out, parse); err != nil {
		return nil, fmt.Errorf("rendered config is invalid: %w", err)
	}
	return out, nil
}

// parseClean parses raw and fails on any report entry, warnings included:
// rackboot serves only configs Ignition has nothing to say about.
func parseClean[C any](raw []byte, parse parser[C]) (C, error) {
	cfg, rpt, err := parse(raw)
	if err != nil || len(rpt.Entries) > 0 {
		return cfg, reportError(rpt, err)
	}
	return cfg, nil
}

func reportError(rpt report.Report, err error) error {
	msg := rpt.String()
	switch {
	case err == nil:
		return errors.New(msg)
	case msg == "":
		return err
	}
	return fmt.Errorf("%w: %s", err, msg)
}
