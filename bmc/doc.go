// Package bmc drives machines' baseboard management controllers: power
// status, on, off, cycle and reset, and the next boot device, over Redfish
// or IPMI through github.com/bmc-toolbox/bmclib/v2.
//
// A Controller serves the whole rack. Each operation is one call with a
// timeout: it loads the machine's credentials (from the file, environment
// variable or Kubernetes Secret its inventory entry names; a Secret
// through Config.Secrets), opens one session, acts, closes the session
// even on failure, and records one event on the machine's timeline saying
// who asked, what, the result and how long it took. Calls to one BMC are serialized; at most Config.MaxConcurrent
// calls run at once across the rack. Credentials never reach logs, events
// or error text.
//
// Usage:
//
//	ctl, err := bmc.New(bmc.Config{MaxConcurrent: 8}, inv, log)
//	...
//	res, err := ctl.Power(ctx, machine, bmc.ActionCycle, "operator alice")
//	res, err = ctl.BootNetwork(ctx, machine, false, "reprovision")
//	if errors.Is(err, bmc.ErrNotKept) { ... }
//
// This API is new and may change while the reprovisioning workflow is
// built on it.
package bmc
