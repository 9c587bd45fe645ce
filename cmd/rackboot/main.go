// Command rackboot turns racked, powered bare-metal machines into booted
// machines with no hands on them: it answers their DHCP, TFTP and HTTP
// requests and records every step of each machine's boot.
//
// Usage:
//
//	rackboot serve [flags]      run DHCP, TFTP and HTTP until SIGINT or SIGTERM
//	rackboot machines [flags]   list the machines a running server knows
//	rackboot accept MAC --name N --profile P   declare a discovered machine
//	rackboot reject [--undo] MAC   ignore a MAC's DHCP, or stop ignoring it
//	rackboot explain [--ignition] MAC|NAME   show the script (and Ignition) a machine gets
//	rackboot power MACHINE ACTION   power status, on, off, cycle or reset by BMC
//	rackboot pxe-once MACHINE   next boot from the network, by BMC
//	rackboot reprovision MACHINE...  reinstall machines, rolling
//	rackboot assets import FILE...   copy files into the assets directory, print sums
//	rackboot assets fetch URL        download a file into the assets directory, checked
//	rackboot token create --name N --role R   make an API token, print it once
//	rackboot token list         show the API tokens' names and roles
//	rackboot export [--store S] [-o FILE]   write a store's whole state as JSON
//	rackboot import [--store S] [--inventory F] FILE   restore such a file into an empty store
//	rackboot install-crds [--kubeconfig F] [--dry-run]   install the Machine, Profile and DHCPLease CRDs
//	rackboot version            print the version
//
// Run "rackboot <command> -h" for the flags of a command; docs/config.md
// describes every setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "rackboot:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `usage: rackboot <command> [flags]

commands:
  serve      run DHCP, TFTP and HTTP until SIGINT or SIGTERM
  machines   list the machines a running server knows (--state, --profile, --label, -q)
  accept     MAC --name N --profile P [--label k=v]: declare a discovered machine
  reject     [--undo] MAC: ignore a MAC's DHCP until it is accepted
  explain    [--ignition] MAC|NAME: show the iPXE script (and Ignition) a machine gets now
  power      MACHINE status|on|off|cycle|reset: act through the machine's BMC
  pxe-once   MACHINE: make the machine's next boot a network boot, through its BMC
  reprovision MACHINE...: reinstall machines by BMC and network boot, K at a time
  assets     import FILE... | fetch URL: bring files into the assets directory, print their sums
  token      create --name N --role viewer|operator | list: manage the API tokens
  export     [--store embedded|kubernetes] [--data-dir D] [--store-kubeconfig F]
             [--store-namespace NS] [-o FILE|-]: write a store's whole state as JSON
  import     [--store embedded|kubernetes] [--data-dir D] [--store-kubeconfig F]
             [--store-namespace NS] [--inventory F] FILE|-: restore an export into an empty store
  install-crds [--kubeconfig F] [--dry-run]: install rackboot's CRDs in a cluster
  convert    [--inventory F] [--namespace NS]: print an inventory file as Profile and Machine resources
  version    print the version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr, getenv)
	case "machines":
		return machines(ctx, args[1:], stdout, stderr, getenv)
	case "accept":
		return accept(ctx, args[1:], stdout, stderr, getenv)
	case "reject":
		return reject(ctx, args[1:], stdout, stderr, getenv)
	case "explain":
		return explain(ctx, args[1:], stdout, stderr, getenv)
	case "power":
		return power(ctx, args[1:], stdout, stderr, getenv)
	case "pxe-once":
		return pxeOnce(ctx, args[1:], stdout, stderr, getenv)
	case "reprovision":
		return reprovision(ctx, args[1:], stdout, stderr, getenv)
	case "assets":
		return assets(args[1:], stdout, stderr, getenv)
	case "token":
		return tokenCommand(args[1:], stdout, stderr, getenv)
	case "export":
		return exportState(args[1:], stdout, stderr, getenv)
	case "import":
		return importState(args[1:], os.Stdin, stderr, getenv)
	case "install-crds":
		return installCRDs(ctx, args[1:], stdout, stderr, getenv)
	case "convert":
		return convert(args[1:], stdout, stderr, getenv)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "rackboot", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "rackboot: unknown command %q\n%s", args[0], usage)
	return errUsage
}
