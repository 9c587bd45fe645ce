package ipxe

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// commands are the command names of iPXE 1.0.0+git-20190125 (src/hci and
// src/core). A build may leave some out; none of them is added later.
var commands = makeSet(
	"autoboot", "boot", "certfree", "certstat", "certstore", "chain",
	"choose", "clear", "colour", "config", "console", "cpair", "cpuid",
	"dhcp", "echo", "exit", "fcels", "fcstat", "goto", "help", "ibstat",
	"ifclose", "ifconf", "ifopen", "ifstat", "imgargs", "imgexec",
	"imgfetch", "imgfree", "imgload", "imgselect", "imgstat", "imgtrust",
	"imgverify", "inc", "initrd", "ipstat", "iseq", "isset", "item",
	"iwlist", "iwstat", "kernel", "login", "lotest", "md5sum", "menu",
	"module", "nslookup", "nstat", "ntp", "param", "params", "pciscan",
	"ping", "poweroff", "profstat", "prompt", "pxebs", "read", "reboot",
	"route", "sanboot", "sanhook", "sanunhook", "set", "sha1sum", "shell",
	"show", "sleep", "startpxe", "stoppxe", "sync", "time", "vcreate",
	"vdestroy",
)

func makeSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Check is a syntax checker for iPXE scripts; iPXE itself has none. It
// accepts a script only if it starts with "#!ipxe", ends with a newline,
// holds only printable ASCII, spaces, tabs and newlines, has no line
// continuation, and every line is empty, a comment, a label (optionally
// followed by a command) or commands joined by "||", "&&" or ";" that each
// start with a known command name. Every "${" must close within its token
// around a setting name, every goto must name a label of the script, and
// sleep takes a whole number of seconds.
func Check(script []byte) error {
	if !bytes.HasPrefix(script, []byte("#!ipxe\n")) {
		return errors.New("line 1: want \"#!ipxe\"")
	}
	if !bytes.HasSuffix(script, []byte("\n")) {
		return errors.New("no final newline")
	}
	lines := strings.Split(string(script[:len(script)-1]), "\n")
	labels, err := findLabels(lines)
	if err != nil {
		return err
	}
	for i, line := range lines[1:] {
		if err := checkLine(line, labels); err != nil {
			return fmt.Errorf("line %d: %w", i+2, err)
		}
	}
	return nil
}

// findLabels returns the labels the script defines (":name" lines).
func findLabels(lines []string) (map[string]bool, error) {
	labels := make(map[string]bool)
	for i, line := range lines {
		label, _, ok := splitLabel(line)
		if !ok {
			continue
		}
		if !labelName(label) {
			return nil, fmt.Errorf("line %d: bad label %q", i+1, label)
		}
		if labels[label] {
			return nil, fmt.Errorf("line %d: label %q defined twice", i+1, label)
		}
		labels[label] = true
	}
	return labels, nil
}

// splitLabel splits ":label command" the way iPXE's script loader does.
func splitLabel(line string) (label, rest string, ok bool) {
	s := strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(s, ":") {
		return "", line, false
	}
	s = s[1:]
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", true
}

func labelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) || c == '~' || c == '.' {
			return false
		}
	}
	return true
}

func checkLine(line string, labels map[string]bool) error {
	for i := 0; i < len(line); i++ {
		if c := line[i]; (c < ' ' || c > '~') && c != '\t' {
			return fmt.Errorf("byte %#02x at column %d", c, i+1)
		}
	}
	if strings.HasSuffix(line, "\\") {
		return errors.New("line continuation")
	}
	_, rest, _ := splitLabel(line)
	tokens := strings.Fields(rest)
	if len(tokens) > 0 && tokens[0][0] == '#' {
		return nil
	}
	for len(tokens) > 0 {
		n := commandEnd(tokens)
		if err := checkCommand(tokens[:n], labels); err != nil {
			return err
		}
		if n == len(tokens) {
			break
		}
		if n == len(tokens)-1 {
			return fmt.Errorf("nothing after %q", tokens[n])
		}
		tokens = tokens[n+1:]
	}
	return nil
}

// commandEnd returns the index of the token ending the first command.
func commandEnd(tokens []string) int {
	for i, t := range tokens {
		if t == "||" || t == "&&" || t == ";" {
			return i
		}
	}
	return len(tokens)
}

func checkCommand(argv []string, labels map[string]bool) error {
	if len(argv) == 0 {
		return errors.New("empty command")
	}
	if !commands[argv[0]] {
		return fmt.Errorf("unknown command %q", argv[0])
	}
	for _, tok := range argv {
		if tok[0] == '#' {
			return fmt.Errorf("token %q comments out the rest of the line", tok)
		}
		if err := checkExpansions(tok); err != nil {
			return err
		}
	}
	switch argv[0] {
	case "goto":
		if len(argv) != 2 || !labels[argv[1]] {
			return fmt.Errorf("goto %q: no such label", strings.Join(argv[1:], " "))
		}
	case "sleep":
		if len(argv) != 2 {
			return errors.New("sleep takes one argument")
		}
		if _, err := strconv.ParseUint(argv[1], 10, 31); err != nil {
			return fmt.Errorf("sleep %q: not whole seconds", argv[1])
		}
	}
	return nil
}

// checkExpansions makes sure every "${" in tok closes with "}" around a
// setting name such as "netX/mac:hexhyp" (iPXE expands innermost first).
func checkExpansions(tok string) error {
	for {
		i := strings.Index(tok, "${")
		if i < 0 {
			return nil
		}
		end := strings.IndexByte(tok[i:], '}')
		if end < 0 {
			return fmt.Errorf("%q: unclosed ${", tok)
		}
		name := tok[i+2 : i+end]
		if !settingName(name) {
			return fmt.Errorf("%q: bad setting name %q", tok, name)
		}
		tok = tok[i+end+1:]
	}
}

func settingName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && c != '/' && c != ':' {
			return false
		}
	}
	return true
}
