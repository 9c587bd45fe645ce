package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// envPrefix is the prefix of every environment variable rackboot reads: flag
// --lease-time is RACKBOOT_LEASE_TIME.
const envPrefix = "RACKBOOT_"

// envName returns the environment variable for the flag called name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// parseSettings parses args into fs, then fills every flag not given on the
// command line from the environment, then from the YAML settings file named
// by the flag called "config" (a map of flag names to values). Command line
// beats environment beats file beats default. Errors name the setting and
// where its bad value came from.
func parseSettings(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return applyDefaults(fs, getenv)
}

// applyDefaults fills every flag of the parsed fs not given on the command
// line from the environment, then from the settings file; see parseSettings.
func applyDefaults(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := setFlag(fs, f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("setting %s from %s: %w", f.Name, envName(f.Name), err))
			}
			given[f.Name] = true
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cf := fs.Lookup("config")
	if cf == nil || cf.Value.String() == "" {
		return nil
	}
	return applyFile(fs, cf.Value.String(), given)
}

// applyFile sets every flag named in the YAML file at path that is not in
// given. Unknown keys are errors, so a typo never goes unnoticed.
func applyFile(fs *flag.FlagSet, path string, given map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading settings file: %w", err)
	}
	var values map[string]any
	if err := yaml.UnmarshalStrict(data, &values); err != nil {
		return fmt.Errorf("%s: parsing yaml: %w", path, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || k == "config" {
			errs = append(errs, fmt.Errorf("%s: %s: unknown setting", path, k))
			continue
		}
		if given[k] {
			continue
		}
		v, err := settingText(values[k])
		if err == nil {
			err = setFlag(fs, k, v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", path, k, err))
		}
	}
	return errors.Join(errs...)
}

// settingText turns a YAML value into the text a flag parses: scalars as
// written, lists joined with commas.
func settingText(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool, float64, int, int64:
		return fmt.Sprint(v), nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			s, err := settingText(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("value of type %T is not a scalar or a list", v)
}

// setFlag sets flag name to v, saying what a duration looks like when v
// is not one (the flag package says only "parse error").
func setFlag(fs *flag.FlagSet, name, v string) error {
	err := fs.Set(name, v)
	if g, ok := fs.Lookup(name).Value.(flag.Getter); ok && err != nil {
		if _, isDuration := g.Get().(time.Duration); isDuration {
			return fmt.Errorf("%q is not a duration such as 90s, 30m or 12h", v)
		}
	}
	return err
}
