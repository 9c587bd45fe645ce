package main

import (
	"flag"
	"io"
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
