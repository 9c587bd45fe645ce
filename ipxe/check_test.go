package ipxe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		wantErr string // "" means accepted
	}{
		{"minimal", "#!ipxe\n", ""},
		{"comments and blanks", "#!ipxe\n\n# hello\n   # indented\n", ""},
		{"commands", "#!ipxe\ndhcp && chain http://h/x || shell\necho a ; echo b\n", ""},
		{"labels", "#!ipxe\n:a\n:b echo in b\ngoto a\n\tgoto b\n", ""},
		{"settings", "#!ipxe\necho ${netX/mac:hexhyp}-${uuid}\n", ""},
		{"no magic", "echo hi\n", "want \"#!ipxe\""},
		{"gpxe magic", "#!gpxe\n", "want \"#!ipxe\""},
		{"no final newline", "#!ipxe\necho hi", "no final newline"},
		{"unknown command", "#!ipxe\nreboot-now\n", `line 2: unknown command "reboot-now"`},
		{"unknown after ||", "#!ipxe\nboot || rm -rf\n", `unknown command "rm"`},
		{"dangling ||", "#!ipxe\nboot ||\n", `nothing after "||"`},
		{"empty command", "#!ipxe\nboot || || shell\n", "empty command"},
		{"carriage return", "#!ipxe\necho hi\r\n", "byte 0x0d"},
		{"nul", "#!ipxe\necho \x00\n", "byte 0x00"},
		{"non-ascii", "#!ipxe\necho é\n", "byte 0xc3"},
		{"continuation", "#!ipxe\necho a \\\n", "line continuation"},
		{"mid-line comment", "#!ipxe\nkernel http://h/k #x\n", "comments out"},
		{"unclosed setting", "#!ipxe\necho ${net0/mac\n", "unclosed ${"},
		{"setting split by space", "#!ipxe\necho ${net0 }\n", "unclosed ${"},
		{"empty setting", "#!ipxe\necho ${}\n", "bad setting name"},
		{"nested setting", "#!ipxe\necho ${a${b}}\n", "bad setting name"},
		{"missing label", "#!ipxe\ngoto nowhere\n", `goto "nowhere"`},
		{"goto without label", "#!ipxe\ngoto\n", "no such label"},
		{"label twice", "#!ipxe\n:a\n:a\n", "defined twice"},
		{"bad label", "#!ipxe\n:a.b\n", "bad label"},
		{"empty label", "#!ipxe\n:\n", "bad label"},
		{"sleep word", "#!ipxe\nsleep ten\n", "not whole seconds"},
		{"sleep negative", "#!ipxe\nsleep -1\n", "not whole seconds"},
		{"sleep twice", "#!ipxe\nsleep 1 2\n", "one argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.script))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check(%q) = %v, want nil", tt.script, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Check(%q) = %v, want error containing %q", tt.script, err, tt.wantErr)
			}
		})
	}
}

// TestCheckGolden runs the checker over every golden script, including any
// an operator adds by hand.
func TestCheckGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.ipxe"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden scripts in %s: %v", goldenDir, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(data); err != nil {
				t.Errorf("Check(%s) = %v", f, err)
			}
		})
	}
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte("#!ipxe\n:a echo ${x} || goto a\n"))
	f.Add([]byte("#!ipxe\nsleep 3\n"))
	f.Fuzz(func(t *testing.T, script []byte) {
		_ = Check(script) // must not panic
	})
}
