package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/inventory"
)

// JobState is where a machine's reprovision stands.
type JobState string

// Job states.
const (
	StateQueued  JobState = "queued"  // waiting for a slot
	StateRunning JobState = "running" // powering the machine or waiting for a stage
	StateDone    JobState = "done"    // every stage completed in time
	StateFailed  JobState = "failed"  // gave up; Stage and Error say where and why
	// StateStopped: rackboot stopped while the job ran; the next start
	// resumes it from the store.
	StateStopped JobState = "stopped"
)

// Finished reports whether s is an end state.
func (s JobState) Finished() bool {
	return s == StateDone || s == StateFailed || s == StateStopped
}

// Job is one machine's reprovision as the API shows it.
type Job struct {
	Machine string   `json:"machine"`
	State   JobState `json:"state"`
	// Stage is the stage being waited for (running) or the one the
	// machine stalled at (failed): a Stage name, or generation, drain,
	// bmc-boot-device or bmc-power for the steps before the boot.
	Stage string `json:"stage,omitempty"`
	// Attempt counts from 1; zero while queued.
	Attempt    int    `json:"attempt,omitempty"`
	Attempts   int    `json:"attempts"`
	Generation uint64 `json:"generation,omitempty"`
	// Error says why the last attempt failed.
	Error    string    `json:"error,omitempty"`
	By       string    `json:"by"`
	Queued   time.Time `json:"queued"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
}

// job is a Job with what the workflow needs to run it. Once the job
// started, only its own goroutine uses the fields after m.
type job struct {
	Job
	m inventory.Machine // as submitted; looked up again when it starts
	// limit is the max-in-flight of the batch the job was submitted in;
	// zero means the workflow's. It is saved, so that a leader adopting
	// the job keeps the batch's limit.
	limit int
	// resume: the job was saved before a restart; its first attempt goes
	// on with Attempt instead of starting a new one.
	resume  bool
	saved   bool      // the journal holds the job
	ended   bool      // end began: the journal no longer holds it; guarded by Workflow.mu
	after   uint64    // Seq of the attempt's provision-started
	begun   time.Time // when the attempt's provision-started was recorded
	powered time.Time // when the attempt's power cycle was sent; zero: not yet
}

// Steps before the boot, named in Job.Stage when they fail.
const (
	stepGeneration = "generation"
	stepDrain      = "drain"
	stepBootDevice = "bmc-boot-device"
	stepPower      = "bmc-power"
)

// provision runs j's attempts until one completes every stage, the
// attempts run out, or ctx ends; it records the outcome.
func (w *Workflow) provision(ctx context.Context, j *job) {
	m, p, ok := w.st.Lookup(j.m.MACs[0])
	if !ok || m.Name != j.Machine {
		w.end(j, j.m, "inventory", errors.New("no longer declared in the inventory"))
		return
	}
	stages := stagesFor(w.cfg.Stages, p)
	var why string
	for n := max(j.Attempt, 1); ; n++ {
		var stage string
		var err error
		if j.resume {
			stage, err = w.resumeAttempt(ctx, j, m, stages)
		} else {
			stage, err = w.attempt(ctx, j, m, stages, n, why)
		}
		switch {
		case err == nil:
			w.end(j, m, "", nil)
			return
		case ctx.Err() != nil:
			w.interrupt(j, m, stage, err)
			return
		case n >= j.Attempts:
			w.end(j, m, stage, err)
			return
		}
		why = fmt.Sprintf("retry after %s: %v", stage, err)
		w.log.Info("reprovision attempt failed; retrying", "mac", m.MACs[0], "err", err)
	}
}

// attempt starts a new generation, sets the next boot to the network and
// power cycles m (on if off), then follows its timeline. It returns the
// stage it failed at and why.
func (w *Workflow) attempt(ctx context.Context, j *job, m inventory.Machine, stages []Stage,
	n int, why string) (string, error) {
	prov, err := w.st.NewGeneration(m.Name)
	if err != nil {
		return stepGeneration, err
	}
	w.update(j, func(jb *Job) { jb.Attempt, jb.Generation, jb.Stage = n, prov.Generation, "" })
	detail := fmt.Sprintf("generation %d, attempt %d of %d, by %s", prov.Generation, n,
		j.Attempts, j.By)
	if why != "" {
		detail += ": " + why
	}
	if !w.canPower(m) {
		detail += ": no bmc, power the machine on or reboot it by hand"
	}
	started, err := w.st.Record(m.MACs[0], inventory.Event{Kind: inventory.EventProvisionStarted,
		Detail: truncate(detail)})
	if err != nil {
		return stepGeneration, err
	}
	j.after, j.begun, j.powered = started.Seq, started.Time, time.Time{}
	w.save(j)
	w.log.Info("reprovision started", "mac", m.MACs[0])
	return w.powerAndFollow(ctx, j, m, stages)
}

// powerAndFollow drains m and power cycles it unless the attempt already
// did, then follows its timeline from the attempt's provision-started.
func (w *Workflow) powerAndFollow(ctx context.Context, j *job, m inventory.Machine,
	stages []Stage) (string, error) {
	if j.powered.IsZero() {
		if err := w.drain(ctx, j, m); err != nil {
			return stepDrain, err
		}
		from, err := w.power(ctx, j, m)
		if err != nil {
			return j.stage(w), err
		}
		j.powered = from
		w.save(j)
	}
	return w.follow(ctx, j, m, stages, j.after, j.powered)
}

// drain has Config.Drainer drain m's Node, if there is a Drainer. A
// machine without a Node goes on; a failed drain fails the attempt, so the
// machine is not reinstalled under running pods.
func (w *Workflow) drain(ctx context.Context, j *job, m inventory.Machine) error {
	if w.cfg.Drainer == nil {
		return nil
	}
	w.setStage(j, stepDrain)
	err := w.cfg.Drainer.Drain(ctx, m.Name)
	if errors.Is(err, ErrNoNode) {
		w.log.Debug("no node to drain", "mac", m.MACs[0])
		return nil
	}
	if err != nil {
		return fmt.Errorf("drain failed: %w", err)
	}
	return nil
}

// power makes m's next boot a network boot and power cycles it, and
// returns the time from which its boot events count. Without a BMC it
// does nothing.
func (w *Workflow) power(ctx context.Context, j *job, m inventory.Machine) (time.Time, error) {
	if !w.canPower(m) {
		// Booted by hand: the boot counts from the attempt's start.
		return cmpOr(j.begun, time.Now()), nil
	}
	who := "reprovision for " + j.By
	w.setStage(j, stepBootDevice)
	if _, err := w.bmc.BootNetwork(ctx, m, false, who); err != nil {
		return time.Time{}, err
	}
	// Events of a boot that was under way before the power cycle must
	// not count: only those from here on do. IPMI forgets the boot
	// device if no power command follows within 60 s, so none waits.
	from := time.Now()
	w.setStage(j, stepPower)
	if _, err := w.bmc.Power(ctx, m, bmc.ActionCycle, who); err != nil {
		return time.Time{}, err
	}
	return from, nil
}

// stage reads j's stage under the lock.
func (j *job) stage(w *Workflow) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return j.Stage
}

// end records the outcome of j: provision-done when err is nil, else
// provision-failed naming the stage. The job ends after the event is on
// the timeline, so that whoever sees the job end finds the event.
func (w *Workflow) end(j *job, m inventory.Machine, stage string, err error) {
	var cur Job
	w.update(j, func(jb *Job) { cur, j.ended = *jb, true })
	now := time.Now().UTC()
	e := inventory.Event{Kind: inventory.EventProvisionDone,
		Detail: fmt.Sprintf("generation %d, attempt %d of %d, in %s", cur.Generation,
			cur.Attempt, cur.Attempts, now.Sub(cur.Started).Round(time.Second))}
	if err != nil {
		e.Kind = inventory.EventProvisionFailed
		e.Detail = truncate(fmt.Sprintf("failed at %s, attempt %d of %d: %v", stage,
			cur.Attempt, cur.Attempts, err))
	}
	if _, rerr := w.st.Record(m.MACs[0], e); rerr != nil {
		w.log.Error("recording the end of a reprovision", "mac", m.MACs[0], "err", rerr)
	}
	w.forget(j)
	w.update(j, func(jb *Job) {
		jb.Finished, jb.State, jb.Stage = now, StateDone, ""
		if err != nil {
			jb.State, jb.Stage, jb.Error = StateFailed, stage, err.Error()
		}
	})
	if err != nil {
		w.log.Info("reprovision failed", "mac", m.MACs[0], "err", e.Detail)
		return
	}
	w.log.Info("reprovision done", "mac", m.MACs[0])
}

// maxDetail bounds what the workflow puts in an event's Detail.
const maxDetail = 480

func truncate(s string) string {
	if len(s) <= maxDetail {
		return s
	}
	r := []rune(s[:maxDetail])
	return string(r[:len(r)-1]) + "..."
}

// Jobs returns the latest job of every machine submitted since start,
// by machine name. On a follower (see Config.Leading) the jobs saved in
// the Journal, run or queued by the leader, stand in for this replica's.
func (w *Workflow) Jobs() []Job {
	all := w.jobViews()
	out := make([]Job, 0, len(all))
	for _, j := range all {
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b Job) int { return strings.Compare(a.Machine, b.Machine) })
	return out
}

// Job returns the latest job of the machine called name, as Jobs shows
// it.
func (w *Workflow) Job(name string) (Job, bool) {
	j, ok := w.jobViews()[name]
	return j, ok
}

// ownJobs returns this replica's jobs by machine name.
func (w *Workflow) ownJobs() map[string]Job {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]Job, len(w.jobs))
	for name, j := range w.jobs {
		out[name] = j.Job
	}
	return out
}

// update changes j under the lock.
func (w *Workflow) update(j *job, f func(*Job)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&j.Job)
}
