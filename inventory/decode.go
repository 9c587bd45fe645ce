package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// The inventory file is YAML; sigs.k8s.io/yaml turns it into JSON and
// encoding/json decodes that. The decoder's errors name JSON and Go types,
// and point at no entry, so the file is decoded entry by entry, fields
// whose errors would be opaque (addresses, string maps) go through
// shadow fields checked here, and every error is put in the words of the
// YAML the operator wrote.

// fileDoc is the top level of the file, each entry left raw.
type fileDoc struct {
	Profiles []json.RawMessage `json:"profiles"`
	Machines []json.RawMessage `json:"machines"`
}

// machineDoc decodes a Machine; its fields shadow Machine's that need
// checks of their own.
type machineDoc struct {
	Machine
	Labels  map[string]any `json:"labels,omitempty"`
	Address string         `json:"address,omitempty"`
}

// profileDoc decodes a Profile, like machineDoc.
type profileDoc struct {
	Profile
	SHA256   map[string]any `json:"sha256,omitempty"`
	Ignition *ignitionDoc   `json:"ignition,omitempty"`
}

// ignitionDoc decodes IgnitionSettings, like machineDoc.
type ignitionDoc struct {
	IgnitionSettings
	ClusterDNS  []any          `json:"clusterDNS"`
	ClusterCIDR string         `json:"clusterCIDR,omitempty"`
	NodeLabels  map[string]any `json:"nodeLabels,omitempty"`
}

// decodeFile decodes an inventory document. Errors name the entry
// ("machines[2] (node3)") and the field at fault.
func decodeFile(data []byte) (File, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return File{}, fmt.Errorf("parsing yaml: %w", err)
	}
	var doc fileDoc
	if err := decodeStrict(js, &doc); err != nil {
		return File{}, topLevelError(err)
	}
	var f File
	for i, raw := range doc.Profiles {
		p, err := decodeProfile(raw)
		if err != nil {
			return File{}, fmt.Errorf("%s: %w", entry("profiles", i, entryName(raw)), err)
		}
		f.Profiles = append(f.Profiles, p)
	}
	for i, raw := range doc.Machines {
		m, err := decodeMachine(raw)
		if err != nil {
			return File{}, fmt.Errorf("%s: %w", entry("machines", i, entryName(raw)), err)
		}
		f.Machines = append(f.Machines, m)
	}
	return f, nil
}

// entry names entry i of list for an error: "machines[2] (node3)".
func entry(list string, i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", list, i)
	}
	return fmt.Sprintf("%s[%d] (%s)", list, i, name)
}

// entryName returns the name of a raw entry, or "" if it has none.
func entryName(raw json.RawMessage) string {
	var e struct {
		Name any `json:"name"`
	}
	json.Unmarshal(raw, &e)
	name, _ := e.Name.(string)
	return name
}

// decodeStrict decodes js into v, refusing keys v has no field for.
func decodeStrict(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func topLevelError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("%s: must be a list", te.Field)
	}
	if key, ok := unknownField(err); ok {
		return fmt.Errorf("unknown top-level key %s (want profiles and machines)", key)
	}
	return errors.New("must be a mapping with profiles and machines")
}

func decodeProfile(raw json.RawMessage) (Profile, error) {
	var d profileDoc
	if err := decodeStrict(raw, &d); err != nil {
		return Profile{}, describe(err)
	}
	p := d.Profile
	var err error
	if p.SHA256, err = stringMap("sha256", d.SHA256); err != nil {
		return Profile{}, err
	}
	if d.Ignition != nil {
		s, err := d.Ignition.settings()
		if err != nil {
			return Profile{}, fmt.Errorf("ignition.%w", err)
		}
		p.Ignition = &s
	}
	return p, nil
}

// settings returns the decoded settings with the shadowed fields parsed.
func (d *ignitionDoc) settings() (IgnitionSettings, error) {
	s := d.IgnitionSettings
	var err error
	if s.NodeLabels, err = stringMap("nodeLabels", d.NodeLabels); err != nil {
		return s, err
	}
	for i, v := range d.ClusterDNS {
		field := fmt.Sprintf("clusterDNS[%d]", i)
		str, ok := v.(string)
		if !ok {
			return s, mustBeString(field)
		}
		a, err := netip.ParseAddr(str)
		if err != nil {
			return s, fmt.Errorf("%s: %q is not an IP address", field, str)
		}
		s.ClusterDNS = append(s.ClusterDNS, a)
	}
	if d.ClusterCIDR != "" {
		if s.ClusterCIDR, err = netip.ParsePrefix(d.ClusterCIDR); err != nil {
			return s, fmt.Errorf("clusterCIDR: %q is not an address range such as 10.244.0.0/16", d.ClusterCIDR)
		}
	}
	return s, nil
}

func decodeMachine(raw json.RawMessage) (Machine, error) {
	var d machineDoc
	if err := decodeStrict(raw, &d); err != nil {
		return Machine{}, describe(err)
	}
	m := d.Machine
	var err error
	if m.Labels, err = stringMap("labels", d.Labels); err != nil {
		return Machine{}, err
	}
	if d.Address != "" {
		a, err := netip.ParseAddr(d.Address)
		if err != nil || !a.Is4() {
			return Machine{}, fmt.Errorf("address: %q is not an IPv4 address", d.Address)
		}
		m.Address = a
	}
	return m, nil
}

// stringMap returns m with every value a string, or names a key whose
// value is not: "labels.rack", or "nodeLabels[a.b/c]" for a key holding
// '.' or '/'.
func stringMap(field string, m map[string]any) (map[string]string, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s, ok := m[k].(string)
		if ok {
			out[k] = s
			continue
		}
		if strings.ContainsAny(k, "./") {
			return nil, mustBeString(field + "[" + k + "]")
		}
		return nil, mustBeString(field + "." + k)
	}
	return out, nil
}

// mustBeString says that field holds a number, boolean or structure where
// a string belongs. YAML reads unquoted 10, yes or an all-digit checksum as
// numbers and booleans, so the fix is almost always quotes.
func mustBeString(field string) error {
	last := field[strings.LastIndexByte(field, '.')+1:]
	if strings.HasPrefix(field, "sha256") || last == "sha256" || last == "sha512" {
		return fmt.Errorf("%s: must be a string: quote the sum, or YAML reads its digits as a number", field)
	}
	return fmt.Errorf("%s: must be a string (quote it)", field)
}

// describe puts a decoding error of one entry in the terms of the YAML
// file.
func describe(err error) error {
	if key, ok := unknownField(err); ok {
		return fmt.Errorf("unknown field %s", key)
	}
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	field := yamlPath(te.Field)
	if field == "" {
		return errors.New("must be a mapping of fields")
	}
	return wrongKind(field, te.Type)
}

// unknownField returns the quoted key of encoding/json's unknown-field
// error, which has no type of its own.
func unknownField(err error) (string, bool) {
	return strings.CutPrefix(err.Error(), "json: unknown field ")
}

// yamlPath drops the Go names of embedded structs from a decoder's field
// path ("Machine.bmc.port" becomes "bmc.port"); YAML keys are lower-case.
func yamlPath(field string) string {
	var keep []string
	for el := range strings.SplitSeq(field, ".") {
		if el != "" && !(el[0] >= 'A' && el[0] <= 'Z') {
			keep = append(keep, el)
		}
	}
	return strings.Join(keep, ".")
}

// wrongKind says what field must hold, given the Go type it decodes into.
func wrongKind(field string, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return mustBeString(field)
	case reflect.Bool:
		return fmt.Errorf("%s: must be true or false", field)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Errorf("%s: must be a whole number", field)
	case reflect.Float32, reflect.Float64:
		return fmt.Errorf("%s: must be a number", field)
	case reflect.Slice, reflect.Array:
		return fmt.Errorf("%s: must be a list", field)
	}
	return fmt.Errorf("%s: must be a mapping", field)
}
