package kubestore

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"testing"
)

// errTBStop is what packageTB panics with to stop kubetest.Start after a
// Skip or Fatal; startShared recovers it.
var errTBStop = errors.New("package TB stopped")

// packageTB is the testing.TB the shared control plane lives under: its
// cleanups run when TestMain ends, not when the first test using it
// does. Only the methods kubetest.Start calls are implemented; the
// embedded nil TB panics on any other.
type packageTB struct {
	testing.TB
	cleanups  []func()
	skip, err string
	failed    bool
}

func (p *packageTB) Helper()                    {}
func (p *packageTB) Cleanup(f func())           { p.cleanups = append(p.cleanups, f) }
func (p *packageTB) Failed() bool               { return p.failed || p.err != "" }
func (p *packageTB) Logf(f string, args ...any) { log.Printf(f, args...) }
func (p *packageTB) Skip(args ...any)           { p.skip = fmt.Sprint(args...); panic(errTBStop) }
func (p *packageTB) Fatal(args ...any)          { p.err = fmt.Sprint(args...); panic(errTBStop) }

func (p *packageTB) Fatalf(f string, args ...any) {
	p.err = fmt.Sprintf(f, args...)
	panic(errTBStop)
}

// TempDir returns a new folder that cleanup removes.
func (p *packageTB) TempDir() string {
	dir, err := os.MkdirTemp("", "kubestore-test-")
	if err != nil {
		p.Fatal(err)
	}
	p.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// cleanup runs the cleanups, last registered first.
func (p *packageTB) cleanup() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

// t0 is the context of the shared cluster's setup and of cleanups that
// run after a test's own context ended.
func t0() context.Context { return context.Background() }
