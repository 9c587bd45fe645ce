package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

// provisionSettings are the settings of "rackboot serve" for the
// reprovisioning workflow.
type provisionSettings struct {
	Attempts     int
	MaxInFlight  int
	Deadlines    deadlineList
	PollInterval time.Duration
}

func (p *provisionSettings) addFlags(fs *flag.FlagSet) {
	fs.IntVar(&p.Attempts, "provision-attempts", provision.DefaultAttempts,
		"attempts per reprovisioned machine, each with a new generation and a power cycle (1: no retry)")
	fs.IntVar(&p.MaxInFlight, "provision-max-in-flight", provision.DefaultMaxInFlight,
		"most machines being reprovisioned at once across the rack")
	fs.Var(&p.Deadlines, "provision-deadlines",
		"per-stage deadlines overriding the defaults, as `stage=duration,...` (stages: "+
			stageList()+")")
	fs.DurationVar(&p.PollInterval, "provision-poll-interval", provision.DefaultPollInterval,
		"how often a reprovisioned machine's timeline is read")
}

func stageList() string {
	var names []string
	for _, st := range provision.DefaultStages() {
		names = append(names, st.Name)
	}
	return strings.Join(names, ", ")
}

// workflow builds the reprovisioning workflow. d is the registration
// tracker, which drains a machine's Node before each attempt and records
// node-ready; nil when no tracker runs. rep names this replica in saved
// jobs and says whether it leads. Errors name the setting.
func (p *provisionSettings) workflow(inv *inventory.Inventory, b provision.BMC,
	d provision.Drainer, rep *replication, log *slog.Logger) (*provision.Workflow, error) {
	switch {
	case p.Attempts < 1:
		return nil, fmt.Errorf("provision-attempts: %d must be at least 1", p.Attempts)
	case p.MaxInFlight < 1:
		return nil, fmt.Errorf("provision-max-in-flight: %d must be at least 1", p.MaxInFlight)
	case p.PollInterval <= 0:
		return nil, fmt.Errorf("provision-poll-interval: %s must be above zero", p.PollInterval)
	}
	stages := provision.DefaultStages()
	if d != nil {
		// The tracker records node-ready: an Ignition machine is done
		// when its Node is Ready, not when its config went out.
		stages = append(stages, provision.NodeReadyStage())
	}
	stages, err := provision.WithDeadlines(stages, p.Deadlines)
	if err != nil {
		return nil, fmt.Errorf("provision-deadlines: %w", err)
	}
	cfg := provision.Config{Stages: stages, Attempts: p.Attempts, MaxInFlight: p.MaxInFlight,
		PollInterval: p.PollInterval, Drainer: d, Replica: rep.name(), Leading: rep.leading()}
	wf, err := provision.New(cfg, inv, b, log.With("component", "provision"))
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	return wf, nil
}

// deadlineList is a flag value "stage=duration,...".
type deadlineList map[string]time.Duration

func (d *deadlineList) String() string {
	var parts []string
	for name, dur := range *d {
		parts = append(parts, name+"="+dur.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (d *deadlineList) Set(v string) error {
	out := deadlineList{}
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, raw, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("%q: want stage=duration", part)
		}
		dur, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil || dur <= 0 {
			return fmt.Errorf("%q: want a duration above zero, such as 10m", part)
		}
		out[strings.TrimSpace(name)] = dur
	}
	*d = out
	return nil
}

// reprovision runs "rackboot reprovision [flags] MACHINE...".
func reprovision(ctx context.Context, args []string, stdout, stderr io.Writer,
	getenv func(string) string) error {
	fs, cs := apiFlags("reprovision", "MACHINE...", stderr)
	maxInFlight := fs.Int("max-in-flight", 0,
		"at most `K` of these machines at once; the next starts when one finishes (0: the server's limit)")
	wait := fs.Bool("wait", false, "wait until every machine is done or failed; fail if any failed")
	poll := fs.Duration("poll", 2*time.Second, "how often --wait asks the server")
	machines, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(machines) == 0 {
		fs.Usage()
		return errUsage
	}
	if err := applyDefaults(fs, getenv); err != nil {
		return err
	}
	c, err := cs.client(getenv)
	if err != nil {
		return err
	}
	body := map[string]any{"machines": machines, "max_in_flight": *maxInFlight}
	var jobs []provision.Job
	if err := c.call(ctx, http.MethodPost, "/api/v1/reprovision", body, &jobs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "queued %s", strings.Join(machines, ", "))
	if *maxInFlight > 0 {
		fmt.Fprintf(stdout, " (at most %d at once)", *maxInFlight)
	}
	fmt.Fprintln(stdout)
	if !*wait {
		return nil
	}
	return waitJobs(ctx, c, jobs, *poll, stdout)
}

// waitJobs polls the server's jobs until every job of mine has ended,
// printing each change, and fails if any failed.
func waitJobs(ctx context.Context, c *apiClient, mine []provision.Job, poll time.Duration,
	stdout io.Writer) error {
	last := map[string]string{}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		var all []provision.Job
		if err := c.call(ctx, http.MethodGet, "/api/v1/reprovision", nil, &all); err != nil {
			return err
		}
		left, failed := 0, []string{}
		for _, want := range mine {
			j, ok := findJob(all, want)
			if !ok {
				return fmt.Errorf("%s: the server no longer knows this reprovision", want.Machine)
			}
			if line := jobLine(j); line != last[j.Machine] {
				fmt.Fprintln(stdout, line)
				last[j.Machine] = line
			}
			switch j.State {
			case provision.StateFailed:
				failed = append(failed, j.Machine)
			case provision.StateDone:
			default:
				left++
			}
		}
		if left == 0 {
			return summary(mine, failed)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting (%w); the reprovision goes on on the server: "+
				"rackboot machines shows where each machine is", ctx.Err())
		case <-tick.C:
		}
	}
}

// findJob finds the job of the same machine queued at the same time.
func findJob(all []provision.Job, want provision.Job) (provision.Job, bool) {
	for _, j := range all {
		if j.Machine == want.Machine && j.Queued.Equal(want.Queued) {
			return j, true
		}
	}
	return provision.Job{}, false
}

func jobLine(j provision.Job) string {
	line := fmt.Sprintf("%s: %s", j.Machine, j.State)
	if j.Stage != "" {
		line += " at " + j.Stage
	}
	if j.Attempt > 0 {
		line += fmt.Sprintf(" (attempt %d of %d, generation %d)", j.Attempt, j.Attempts, j.Generation)
	}
	if j.Error != "" {
		line += ": " + j.Error
	}
	return line
}

func summary(mine []provision.Job, failed []string) error {
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d machines failed: %s", len(failed), len(mine), strings.Join(failed, ", "))
}
