package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/rackboot/rackboot/auth"
)

// tokensFileName is the tokens file in the data directory, the default
// of --tokens-file.
const tokensFileName = "tokens"

const tokenUsage = `usage: rackboot token <command> [flags]

commands:
  create --name NAME --role viewer|operator   make a token, print it once
  list                                        show the tokens file's names and roles
`

// tokenCommand runs "rackboot token create|list".
func tokenCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errUsage
	}
	switch args[0] {
	case "create":
		return tokenCreate(args[1:], stdout, stderr, getenv)
	case "list":
		return tokenList(args[1:], stdout, stderr, getenv)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, tokenUsage)
		return nil
	}
	fmt.Fprintf(stderr, "rackboot token: unknown command %q\n%s", args[0], tokenUsage)
	return errUsage
}

// tokensFileFlags returns the flag set of a token command, with the flags
// that find the tokens file.
func tokensFileFlags(name string, stderr io.Writer) (*flag.FlagSet, func() string) {
	fs := flag.NewFlagSet("token "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("tokens-file", "",
		"the tokens `file` (default <data-dir>/"+tokensFileName+")")
	dataDir := fs.String("data-dir", defaultDataDir, "rackboot's data `directory`")
	return fs, func() string {
		if *file != "" {
			return *file
		}
		return filepath.Join(*dataDir, tokensFileName)
	}
}

// tokenCreate runs "rackboot token create --name N --role R": it adds the
// token's hash to the tokens file and prints the token, once.
func tokenCreate(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, tokensFile := tokensFileFlags("create", stderr)
	name := fs.String("name", "", "who holds the token, as timelines will name them (required)")
	role := fs.String("role", "",
		"what the token may do: viewer (read) or operator (everything) (required)")
	if err := parseSettings(fs, args, getenv); err != nil {
		return err
	}
	if *name == "" || *role == "" {
		return errors.New("token create: --name and --role are required")
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	tok, err := auth.NewToken()
	if err != nil {
		return err
	}
	e := auth.Entry{Name: *name, Role: r, Hash: auth.Hash(tok),
		Created: time.Now().UTC().Truncate(time.Second)}
	if err := auth.AppendToken(tokensFile(), e); err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "rackboot: added %s token %q to %s; the token is shown only this once. "+
		"rackboot serve reads the tokens file when it starts and on SIGHUP.\n", r, e.Name, tokensFile())
	return nil
}

// tokenList runs "rackboot token list": the tokens file's names, roles and
// creation times; never a hash.
func tokenList(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, tokensFile := tokensFileFlags("list", stderr)
	if err := parseSettings(fs, args, getenv); err != nil {
		return err
	}
	entries, err := auth.ReadTokensFile(tokensFile())
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintf(stderr, "rackboot: no token in %s\n", tokensFile())
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
	for _, e := range entries {
		created := "-"
		if !e.Created.IsZero() {
			created = e.Created.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, e.Role, created)
	}
	return tw.Flush()
}
