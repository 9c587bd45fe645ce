package kubestore

import (
	"sync"
	"time"
)

// seqClock numbers events with a hybrid clock: each Seq is the larger of
// the last one plus one and the time in microseconds since 1970. With
// the replicas' clocks in sync, Seq orders events across replicas, and a
// Seq saved by one replica (a job's After) stays meaningful to another.
type seqClock struct {
	now func() time.Time

	mu   sync.Mutex
	last uint64 // guarded by mu
}

// next returns a new Seq.
func (c *seqClock) next() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(c.last+1, uint64(c.now().UnixMicro()))
	return c.last
}

// observe makes sure later Seqs come after seq, one seen elsewhere.
func (c *seqClock) observe(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(c.last, seq)
}

// current returns the last Seq handed out or observed.
func (c *seqClock) current() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
