// Package testlog holds what rackboot's tests use to capture log output.
package testlog

import (
	"bytes"
	"sync"
)

// Buffer collects what is written to it, such as a slog handler's
// output, and is safe for the concurrent writers a server has. The zero
// value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
