package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ops  []string
		wait bool
		srv  string
	}{
		{"flags first", []string{"--wait", "--server", "u", "node1", "node2"}, []string{"node1", "node2"}, true, "u"},
		{"flags last", []string{"node1", "node2", "--wait", "--server", "u"}, []string{"node1", "node2"}, true, "u"},
		{"mixed", []string{"node1", "--wait", "node2", "--server=u"}, []string{"node1", "node2"}, true, "u"},
		{"after --", []string{"--wait", "--", "--server", "node1"}, []string{"--server", "node1"}, true, ""},
		{"no operands", []string{"--wait"}, nil, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			wait := fs.Bool("wait", false, "")
			srv := fs.String("server", "", "")
			ops, err := parseInterspersed(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.ops, ops); diff != "" || *wait != tt.wait || *srv != tt.srv {
				t.Errorf("parseInterspersed(%q) = %q wait=%v server=%q, want %q %v %q",
					tt.args, ops, *wait, *srv, tt.ops, tt.wait, tt.srv)
			}
		})
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseInterspersed(fs, []string{"node1", "--nope"}); err == nil {
		t.Error("an unknown flag after an operand was accepted")
	}
}

func TestOperandCountSaysWhy(t *testing.T) {
	var stderr strings.Builder
	err := run(t.Context(), []string{"power", "node3"}, io.Discard, &stderr, func(string) string { return "" })
	if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "rackboot power: want 2 operand(s), got 1") {
		t.Errorf("power node3 = %v, stderr %q; want a usage error saying an operand is missing", err, stderr.String())
	}
	stderr.Reset()
	err = run(t.Context(), []string{"pxe-once", "node1", "node2"}, io.Discard, &stderr, func(string) string { return "" })
	if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), `unexpected argument "node2"`) {
		t.Errorf("pxe-once node1 node2 = %v, stderr %q; want a usage error naming node2", err, stderr.String())
	}
}
