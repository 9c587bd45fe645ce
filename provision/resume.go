package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Journal keeps the reprovisions in flight across restarts.
// *inventory.Store and *inventory.Inventory implement it. When the Store
// given to New also implements Journal, each job in flight is saved as
// it moves on and resumed by the next Run after a restart; without it, a
// job in flight when Run returns is recorded as failed.
type Journal interface {
	// PutJob saves a job, replacing the machine's earlier record.
	PutJob(j inventory.JobRecord) error
	// DeleteJob forgets the machine's record.
	DeleteJob(name string) error
	// Jobs returns the saved records.
	Jobs() ([]inventory.JobRecord, error)
}

var _ Journal = (*inventory.Inventory)(nil)

// record is what the journal keeps of j.
func (w *Workflow) record(j *job) inventory.JobRecord {
	var cur Job
	w.update(j, func(jb *Job) { cur = *jb })
	return inventory.JobRecord{Machine: cur.Machine, MAC: j.m.MACs[0], Attempt: cur.Attempt,
		Attempts: cur.Attempts, Generation: cur.Generation, Stage: cur.Stage, By: cur.By,
		Queued: cur.Queued, Started: cur.Started, After: j.after, Powered: j.powered}
}

// save writes j to the journal, if there is one. A failure is logged:
// the job goes on, but a restart would not resume it where it is.
func (w *Workflow) save(j *job) {
	if w.journal == nil {
		return
	}
	if err := w.journal.PutJob(w.record(j)); err != nil {
		w.log.Error("saving a reprovision", "mac", j.m.MACs[0], "err", err)
		return
	}
	j.saved = true
}

// forget removes j from the journal, if there is one.
func (w *Workflow) forget(j *job) {
	if w.journal == nil {
		return
	}
	if err := w.journal.DeleteJob(j.Machine); err != nil {
		w.log.Error("forgetting a reprovision", "mac", j.m.MACs[0], "err", err)
	}
}

// setStage sets j's stage and saves j if it changed.
func (w *Workflow) setStage(j *job, stage string) {
	changed := false
	w.update(j, func(jb *Job) { changed, jb.Stage = jb.Stage != stage, stage })
	if changed {
		w.save(j)
	}
}

// resumeSaved queues, as one batch, the jobs the journal kept from
// before a restart, in the state they were saved in. A journal that
// cannot be read is logged: new work still runs.
func (w *Workflow) resumeSaved() {
	if w.journal == nil {
		return
	}
	recs, err := w.journal.Jobs()
	if err != nil {
		w.log.Error("reading reprovisions to resume", "err", err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	b := &batch{limit: w.cfg.MaxInFlight}
	for _, r := range recs {
		j := w.savedJob(r)
		w.jobs[r.Machine] = j
		b.queue = append(b.queue, j)
		w.log.Info("resuming a reprovision at "+cmpOr(r.Stage, "its start"), "mac", r.MAC)
	}
	if len(b.queue) > 0 {
		w.batches = append(w.batches, b)
		w.queued += len(b.queue)
	}
}

// savedJob is the job of record r, to resume at its attempt.
func (w *Workflow) savedJob(r inventory.JobRecord) *job {
	m := inventory.Machine{Name: r.Machine, MACs: []string{r.MAC}}
	if found, _, ok := w.st.Lookup(r.MAC); ok {
		m = found
	}
	return &job{Job: Job{Machine: r.Machine, State: StateQueued, Stage: r.Stage,
		Attempt: r.Attempt, Attempts: r.Attempts, Generation: r.Generation, By: r.By,
		Queued: r.Queued, Started: r.Started}, m: m, resume: true, saved: true,
		after: r.After, powered: r.Powered}
}

// resumeAttempt goes on with the attempt j was saved in: it drains and
// power cycles m only if that attempt had not done so yet, then follows
// the timeline from the attempt's provision-started, so that stages
// already reached count.
func (w *Workflow) resumeAttempt(ctx context.Context, j *job, m inventory.Machine,
	stages []Stage) (string, error) {
	j.resume = false
	return w.powerAndFollow(ctx, j, m, stages)
}

// interrupt leaves j, stopped by ctx, for the next Run to resume; without
// a journal it records j as failed.
func (w *Workflow) interrupt(j *job, m inventory.Machine, stage string, err error) {
	if w.journal == nil || !j.saved {
		w.end(j, m, stage, fmt.Errorf("rackboot stopped: %w", err))
		return
	}
	w.update(j, func(jb *Job) {
		jb.State, jb.Stage, jb.Finished = StateStopped, stage, time.Now().UTC()
		jb.Error = "rackboot stopped; the next start resumes it"
	})
	w.log.Info("reprovision interrupted; it resumes at the next start", "mac", m.MACs[0])
}
