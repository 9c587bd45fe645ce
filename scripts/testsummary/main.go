// Command testsummary reads `go test -json` from stdin and prints a short
// report: one line per package, the full output of every failed test, the
// reason of every skipped top-level test, and a closing count line
// ("tests: N passed, N failed, N skipped"). It exits 1 if a test or a
// package failed. scripts/test.sh pipes the suite through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of test2json output (go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// report accumulates the run's state.
type report struct {
	out                     io.Writer
	logs                    map[string][]string // by package + "\x00" + test
	passed, failed, skipped int
	badPackages             int
}

func main() {
	r := &report{out: os.Stdout, logs: make(map[string][]string)}
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
		os.Exit(2)
	}
	fmt.Fprintf(r.out, "tests: %d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped)
	if r.failed > 0 || r.badPackages > 0 {
		os.Exit(1)
	}
}

// read consumes the event stream; lines that are not JSON (build errors
// printed by the go command) are echoed as they are.
func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(r.out, sc.Text())
			continue
		}
		r.handle(e)
	}
	return sc.Err()
}

func (r *report) handle(e event) {
	key := e.Package + "\x00" + e.Test
	switch e.Action {
	case "output":
		r.logs[key] = append(r.logs[key], e.Output)
	case "build-output":
		fmt.Fprint(r.out, e.Output)
	case "pass", "fail", "skip":
		r.finish(e, r.logs[key])
		delete(r.logs, key)
	case "build-fail":
		r.badPackages++
	}
}

// finish reports the end of a test or, with e.Test empty, of a package.
func (r *report) finish(e event, logs []string) {
	if e.Test == "" {
		r.finishPackage(e, logs)
		return
	}
	switch e.Action {
	case "pass":
		r.passed++
	case "fail":
		r.failed++
		fmt.Fprintf(r.out, "--- FAIL: %s (%s)\n", e.Test, e.Package)
		r.print(logs)
	case "skip":
		r.skipped++
		if !strings.Contains(e.Test, "/") {
			fmt.Fprintf(r.out, "--- SKIP: %s (%s): %s\n", e.Test, e.Package, skipReason(logs))
		}
	}
}

func (r *report) finishPackage(e event, logs []string) {
	switch e.Action {
	case "pass":
		fmt.Fprintf(r.out, "ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(r.out, "?   \t%s\t[no test files]\n", e.Package)
	case "fail":
		r.badPackages++
		r.print(logs)
		fmt.Fprintf(r.out, "FAIL\t%s\t%.1fs\n", e.Package, e.Elapsed)
	}
}

// print writes a test's or package's output, leaving out the progress and
// result lines this report prints itself.
func (r *report) print(logs []string) {
	for _, l := range logs {
		if isResultLine(l) {
			continue
		}
		fmt.Fprint(r.out, l)
	}
}

func isResultLine(l string) bool {
	t := strings.TrimSpace(l)
	for _, p := range []string{"=== ", "--- PASS", "--- FAIL", "--- SKIP", "FAIL\t"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return t == "FAIL" || t == "PASS"
}

// skipReason is the message a skipped test gave, the line after its name.
func skipReason(logs []string) string {
	for i := len(logs) - 1; i >= 0; i-- {
		l := strings.TrimSpace(logs[i])
		if l != "" && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "===") {
			return l
		}
	}
	return "(no reason given)"
}
