// Package provision reprovisions machines: it starts a new provisioning
// generation, sets the next boot to the network once and power cycles the
// machine through its BMC, then follows the machine's timeline stage by
// stage (DHCP, iPXE script, kernel, OS callback) until it is installed.
//
// Each stage has a deadline, counted from the end of the stage before it
// (or from the power on). A machine that misses one is tried again with a
// new generation and another power cycle, up to Config.Attempts times,
// and then marked failed with the stage it stalled at. The timeline shows
// one provision-started event per attempt and one provision-done or
// provision-failed at the end; the BMC's own events (bmc-boot-device,
// bmc-power) and the boot's events fall between them.
//
// Machines are submitted in batches: a batch starts its machines in order,
// at most its own limit at once, and the next starts when one finishes
// (rolling mode); Config.MaxInFlight caps all batches together. The
// stages are data (Config.Stages), so later stages such as a Kubernetes
// Node becoming Ready are added without code.
//
// The workflow reads the store by polling (Config.PollInterval) with
// Store.TimelineSince, which reads only the events not seen yet.
//
// Replicas sharing one store (Config.Leading) run the workflow on the
// elected leader only. A follower's Submit saves queued JobRecords; the
// leader adopts every saved job it does not run, at the start of Run and
// every Config.Rescan, and records provision-resumed ("taken over by
// <replica>") on the timeline of a job another replica had started.
//
// Usage:
//
//	wf, err := provision.New(provision.Config{}, inv, ctl, log)
//	...
//	go wf.Run(ctx)
//	jobs, err := wf.Submit(machines, 2, "alice")
//	if errors.Is(err, provision.ErrBusy) { ... }
//
// This API is new and may change.
package provision
