package provision

import (
	"fmt"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Several replicas share one store (Config.Leading set): Run runs on the
// leader only. A follower saves what it is asked to do to the Journal,
// the leader's Run adopts it at its next rescan, and a follower's Jobs
// shows the Journal's view. A leader that stops saves its queue back,
// and leaves its jobs in flight saved, for the next leader.

// following reports whether Submit hands jobs to the leader through the
// Journal: this replica shares the store with others, and does not run
// the workflow now.
func (w *Workflow) following() bool {
	if w.journal == nil || w.cfg.Leading == nil {
		return false
	}
	w.mu.Lock()
	running := w.running && !w.stopped
	w.mu.Unlock()
	return !running || !w.cfg.Leading()
}

// submitToLeader saves ms as queued jobs for the leader to start, each
// with the batch's limit, maxInFlight. It refuses the whole batch as
// Submit does.
func (w *Workflow) submitToLeader(ms []inventory.Machine, maxInFlight int, who string) ([]Job, error) {
	recs, err := w.journal.Jobs()
	if err != nil {
		return nil, fmt.Errorf("reading the saved reprovisions: %w", err)
	}
	if err := w.admitSaved(recs, ms); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	out := make([]Job, 0, len(ms))
	for _, m := range ms {
		r := inventory.JobRecord{Machine: m.Name, MAC: m.MACs[0], Attempts: w.attempts(m),
			By: who, Queued: now, Replica: w.cfg.Replica, Limit: maxInFlight}
		if err := w.journal.PutJob(r); err != nil {
			w.unsave(out)
			return nil, fmt.Errorf("saving the reprovision of %s for the leader: %w", m.Name, err)
		}
		out = append(out, recordJob(r))
	}
	w.log.Info("reprovisions saved for the leader", "machines", len(out), "by", who)
	return out, nil
}

// admitSaved says why ms cannot be saved next to recs, or nil.
func (w *Workflow) admitSaved(recs []inventory.JobRecord, ms []inventory.Machine) error {
	busy := make(map[string]inventory.JobRecord, len(recs))
	for _, r := range recs {
		busy[r.Machine] = r
	}
	for _, m := range ms {
		if r, ok := busy[m.Name]; ok {
			return fmt.Errorf("%s: %w (%s)", m.Name, ErrBusy, recordJob(r).State)
		}
	}
	if len(recs)+len(ms) > w.cfg.MaxQueued {
		return fmt.Errorf("%w: %d machines wait, at most %d", ErrQueueFull, len(recs), w.cfg.MaxQueued)
	}
	return nil
}

// unsave deletes the records of jobs a refused batch had saved.
func (w *Workflow) unsave(jobs []Job) {
	for _, j := range jobs {
		if err := w.journal.DeleteJob(j.Machine); err != nil {
			w.log.Error("forgetting a reprovision of a refused batch", "machine", j.Machine, "err", err)
		}
	}
}

// handOverLocked saves queued job j for the next leader instead of
// dropping it, when replicas share the store; it reports whether j is
// saved.
func (w *Workflow) handOverLocked(j *job) bool {
	if w.journal == nil || w.cfg.Leading == nil {
		return false
	}
	if j.saved {
		return true
	}
	r := inventory.JobRecord{Machine: j.Machine, MAC: j.m.MACs[0], Attempts: j.Attempts,
		By: j.By, Queued: j.Queued, Replica: w.cfg.Replica, Limit: j.limit}
	if err := w.journal.PutJob(r); err != nil {
		w.log.Error("saving a queued reprovision for the next leader", "mac", r.MAC, "err", err)
		return false
	}
	j.saved = true
	return true
}

// jobViews returns the jobs Jobs and Job show, by machine name: this
// replica's, and on a follower the Journal's in their place. A follower
// leaves out the jobs it handed over that the Journal no longer holds:
// the leader ran them.
func (w *Workflow) jobViews() map[string]Job {
	own := w.ownJobs()
	if !w.following() {
		return own
	}
	recs, err := w.journal.Jobs()
	if err != nil {
		w.log.Warn("reading the saved reprovisions", "err", err)
		return own
	}
	saved := make(map[string]bool, len(recs))
	for _, r := range recs {
		own[r.Machine] = recordJob(r)
		saved[r.Machine] = true
	}
	for name, j := range own {
		if (!j.State.Finished() || j.State == StateStopped) && !saved[name] {
			delete(own, name)
		}
	}
	return own
}

// recordJob is the Job a saved record stands for.
func recordJob(r inventory.JobRecord) Job {
	state := StateRunning
	if r.Attempt == 0 {
		state = StateQueued
	}
	return Job{Machine: r.Machine, State: state, Stage: r.Stage, Attempt: r.Attempt,
		Attempts: r.Attempts, Generation: r.Generation, By: r.By, Queued: r.Queued,
		Started: r.Started}
}
