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
		Queued: cur.Queued, Started: cur.Started, After: j.after, Powered: j.powered,
		Replica: w.cfg.Replica, Limit: j.limit}
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

// resumeSaved queues, as one batch, the jobs the journal holds that this
// workflow does not run: those kept from before a restart, those another
// replica ran before it stopped leading, and those followers saved for
// the leader. Each goes on in the state it was saved in. A journal that
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
	jobs, recs := w.adopt(recs)
	for _, r := range recs {
		w.announce(r)
	}
	w.enqueue(jobs)
}

// adopt takes on the jobs of recs this workflow does not run: it returns
// them, and their records, to announce and then enqueue.
func (w *Workflow) adopt(recs []inventory.JobRecord) ([]*job, []inventory.JobRecord) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return nil, nil
	}
	var jobs []*job
	var adopted []inventory.JobRecord
	for _, r := range recs {
		if !w.adoptableLocked(r) {
			continue
		}
		j := w.savedJob(r)
		w.jobs[r.Machine] = j
		jobs = append(jobs, j)
		adopted = append(adopted, r)
	}
	return jobs, adopted
}

// enqueue queues adopted jobs, one batch per batch limit they were
// submitted with; if Run stopped meanwhile, they stay saved for the next
// Run.
func (w *Workflow) enqueue(jobs []*job) {
	if len(jobs) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		for _, j := range jobs {
			j.State, j.Error = StateStopped, "rackboot stopped before it resumed"
		}
		return
	}
	byLimit := map[int]*batch{}
	for _, j := range jobs {
		b := byLimit[j.limit]
		if b == nil {
			b = &batch{limit: cmpOr(j.limit, w.cfg.MaxInFlight)}
			byLimit[j.limit] = b
			w.batches = append(w.batches, b)
		}
		b.queue = append(b.queue, j)
	}
	w.queued += len(jobs)
	w.poke()
}

// adoptableLocked reports whether r is a job to take on: not one this
// workflow queued or runs, nor one it ended (r may have been read just
// before the end deleted it).
func (w *Workflow) adoptableLocked(r inventory.JobRecord) bool {
	j := w.jobs[r.Machine]
	switch {
	case j == nil:
		return true
	case !j.State.Finished():
		return false
	case j.Queued.Equal(r.Queued):
		return !j.ended
	}
	return true
}

// announce logs an adopted job and, when it was started by another
// replica, records the takeover on the machine's timeline.
func (w *Workflow) announce(r inventory.JobRecord) {
	if r.Attempt == 0 {
		w.log.Info("starting a reprovision saved for the leader", "mac", r.MAC,
			"replica", r.Replica)
		return
	}
	w.log.Info("resuming a reprovision at "+cmpOr(r.Stage, "its start"), "mac", r.MAC)
	if !w.takenOver(r) {
		return
	}
	from := ""
	if r.Replica != "" {
		from = " from " + r.Replica
	}
	e := inventory.Event{Kind: inventory.EventProvisionResumed, Detail: truncate(fmt.Sprintf(
		"taken over by %s%s at %s, attempt %d of %d, generation %d", w.cfg.Replica, from,
		cmpOr(r.Stage, "its start"), r.Attempt, r.Attempts, r.Generation))}
	if _, err := w.st.Record(r.MAC, e); err != nil {
		w.log.Error("recording a reprovision taken over", "mac", r.MAC, "err", err)
	}
}

// takenOver reports whether r, a started job, was run by another
// replica: the one it names, or, when the store keeps no replica name,
// any when replicas share the store.
func (w *Workflow) takenOver(r inventory.JobRecord) bool {
	if r.Replica != "" {
		return r.Replica != w.cfg.Replica
	}
	return w.cfg.Leading != nil && w.cfg.Replica != ""
}

// savedJob is the job of record r, to resume at its attempt; a record
// without an attempt, saved by a follower, starts at the first.
func (w *Workflow) savedJob(r inventory.JobRecord) *job {
	m := inventory.Machine{Name: r.Machine, MACs: []string{r.MAC}}
	if found, _, ok := w.st.Lookup(r.MAC); ok {
		m = found
	}
	return &job{Job: Job{Machine: r.Machine, State: StateQueued, Stage: r.Stage,
		Attempt: r.Attempt, Attempts: r.Attempts, Generation: r.Generation, By: r.By,
		Queued: r.Queued, Started: r.Started}, m: m, resume: r.Attempt > 0, saved: true,
		after: r.After, powered: r.Powered, limit: r.Limit}
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
