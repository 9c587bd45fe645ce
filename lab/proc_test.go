package lab

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is a process the test started; its output goes to a log file.
type proc struct {
	name string
	// quiet lists substrings of log lines a failure report leaves out.
	quiet []string
	cmd   *exec.Cmd
	log   string
	done  chan struct{}
	err   error // set before done closes
}

// startProc starts cmd with stdout and stderr in dir/<name>.log. At cleanup
// it stops the process (SIGTERM, then SIGKILL after 5 s) and, if the test
// failed, shows the log's last lines.
func startProc(t testing.TB, name, dir string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("last lines of %s (%s):\n%s", name, p.log, tail(p.log, 60, p.quiet...))
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process and waits for it.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

var ansi = regexp.MustCompile(`\x1b(\[[0-9;?=]*[a-zA-Z]|[()][0-9A-Za-z]|[78=>c])`)

// tail returns the last n lines of a file, without terminal escapes and
// without the lines containing any of skip.
func tail(path string, n int, skip ...string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	b = ansi.ReplaceAll(b, nil)
	b = bytes.ReplaceAll(b, []byte("\r"), nil)
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !containsAny(l, skip) {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
