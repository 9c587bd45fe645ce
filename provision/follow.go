package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// ErrStalled: a stage missed its deadline.
var ErrStalled = errors.New("stalled")

// follower tracks one attempt's progress through its stages, from the
// events of the machine's timelines (one per MAC) in store order.
type follower struct {
	stages []Stage
	next   int       // index of the stage waited for
	since  time.Time // when the stage before it ended, or the power on
	// from is the power on: events before it belong to an earlier boot.
	from  time.Time
	after map[string]uint64 // per MAC: the Seq of the last event read
}

func newFollower(stages []Stage, macs []string, after uint64, from time.Time) *follower {
	f := &follower{stages: stages, since: from, from: from, after: map[string]uint64{}}
	for _, mac := range macs {
		f.after[mac] = after
	}
	return f
}

// advance completes the stage waited for if e is one of its events and
// belongs to this boot. Stages complete in order: an event of a later
// stage counts only once the stages before it have completed.
func (f *follower) advance(e inventory.Event) {
	if f.done() || e.Time.Before(f.from) || !f.stages[f.next].completes(e.Kind) {
		return
	}
	f.next++
	f.since = e.Time
}

func (f *follower) done() bool { return f.next == len(f.stages) }

// waiting is the stage waited for; only valid while !done().
func (f *follower) waiting() Stage { return f.stages[f.next] }

// overdue reports whether the stage waited for missed its deadline at now.
func (f *follower) overdue(now time.Time) bool {
	return now.After(f.since.Add(f.waiting().Deadline))
}

// stalled describes the missed deadline.
func (f *follower) stalled() error {
	prev := "the power on"
	if f.next > 0 {
		prev = f.stages[f.next-1].Name
	}
	st := f.waiting()
	return fmt.Errorf("%w: no %s within %s of %s", ErrStalled, st.Name, st.Deadline, prev)
}

// read feeds f the events of m's MACs it has not seen, in store order.
func (f *follower) read(st Store, m inventory.Machine) error {
	var fresh []inventory.Event
	var errs []error
	for _, mac := range m.MACs {
		events, err := st.TimelineSince(mac, f.after[mac])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(events) > 0 {
			f.after[mac] = events[len(events)-1].Seq
		}
		fresh = append(fresh, events...)
	}
	slices.SortFunc(fresh, func(a, b inventory.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, e := range fresh {
		f.advance(e)
	}
	return errors.Join(errs...)
}

// follow polls m's timelines, from the event after the one numbered
// after, until every stage completed (nil), the stage waited for missed
// its deadline (ErrStalled) or ctx ended. It returns the stage it
// stopped at. A store that fails to read is logged and read again: the
// deadline still bounds the wait.
func (w *Workflow) follow(ctx context.Context, j *job, m inventory.Machine, stages []Stage,
	after uint64, from time.Time) (string, error) {
	f := newFollower(stages, m.MACs, after, from)
	tick := time.NewTicker(w.cfg.PollInterval)
	defer tick.Stop()
	for {
		if err := f.read(w.st, m); err != nil {
			w.log.Error("reading timeline", "mac", m.MACs[0], "err", err)
		}
		if f.done() {
			return "", nil
		}
		st := f.waiting()
		w.setStage(j, st.Name)
		if f.overdue(time.Now()) {
			return st.Name, f.stalled()
		}
		select {
		case <-ctx.Done():
			return st.Name, ctx.Err()
		case <-tick.C:
		}
	}
}
