package main

import (
	"flag"
	"fmt"
	"io"
)

// The arguments of the commands that call a running rackboot's API.

// apiFlags returns the flag set of a command that calls the API,
// with the client flags on it.
func apiFlags(name, operands string, stderr io.Writer) (*flag.FlagSet, *clientSettings) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rackboot %s [flags] %s\n", name, operands)
		fs.PrintDefaults()
	}
	var cs clientSettings
	cs.addFlags(fs)
	return fs, &cs
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

// operandCount says how the operands given differ from the n wanted.
func operandCount(n int, got []string) string {
	switch {
	case len(got) < n:
		return fmt.Sprintf("want %d operand(s), got %d", n, len(got))
	default:
		return fmt.Sprintf("unexpected argument %q", got[n])
	}
}

// parseInterspersed parses args into fs with flags and operands in any
// order ("power node1 status --server URL" as well as "power --server URL
// node1 status") and returns the operands. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var ops []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return ops, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(ops, rest...), nil
		}
		ops, args = append(ops, rest[0]), rest[1:]
	}
}
