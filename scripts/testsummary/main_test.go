package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stream is a go test -json run of two packages: one passing test, a
// failing subtest, a skipped test and a package that does not build.
const stream = `{"Action":"start","Package":"ex/a"}
{"Action":"run","Package":"ex/a","Test":"TestOK"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"ex/a","Test":"TestOK","Elapsed":0}
{"Action":"run","Package":"ex/a","Test":"TestBad"}
{"Action":"run","Package":"ex/a","Test":"TestBad/case"}
{"Action":"output","Package":"ex/a","Test":"TestBad/case","Output":"    a_test.go:9: F(1) = 2, want 3\n"}
{"Action":"output","Package":"ex/a","Test":"TestBad/case","Output":"--- FAIL: TestBad/case (0.00s)\n"}
{"Action":"fail","Package":"ex/a","Test":"TestBad/case","Elapsed":0}
{"Action":"fail","Package":"ex/a","Test":"TestBad","Elapsed":0}
{"Action":"output","Package":"ex/a","Test":"TestSkip","Output":"    a_test.go:20: needs root\n"}
{"Action":"output","Package":"ex/a","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}
{"Action":"skip","Package":"ex/a","Test":"TestSkip","Elapsed":0}
{"Action":"output","Package":"ex/a","Output":"FAIL\n"}
{"Action":"fail","Package":"ex/a","Elapsed":1.5}
{"ImportPath":"ex/b","Action":"build-output","Output":"b.go:3:1: syntax error\n"}
{"ImportPath":"ex/b","Action":"build-fail"}
# ex/b
`

func TestReport(t *testing.T) {
	var out strings.Builder
	r := &report{out: &out, logs: make(map[string][]string)}
	if err := r.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--- FAIL: TestBad/case (ex/a)",
		"    a_test.go:9: F(1) = 2, want 3",
		"--- FAIL: TestBad (ex/a)",
		"--- SKIP: TestSkip (ex/a): a_test.go:20: needs root",
		"FAIL\tex/a\t1.5s",
		"b.go:3:1: syntax error",
		"# ex/b",
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	counts := [4]int{r.passed, r.failed, r.skipped, r.badPackages}
	if counts != [4]int{1, 2, 1, 2} {
		t.Errorf("passed, failed, skipped, bad packages = %v, want [1 2 1 2]", counts)
	}
}
