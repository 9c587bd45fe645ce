package tftp

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		err      error // nil: no error; errAny: some error
	}{
		{`boot/x64/wdsnbp.com`, "boot/x64/wdsnbp.com", nil},
		{`\Boot\x64\wdsnbp.com`, "Boot/x64/wdsnbp.com", nil},
		{`/boot/x64/wdsnbp.com`, "boot/x64/wdsnbp.com", nil},
		{`//\\boot//x64/./wdsnbp.com`, "boot/x64/wdsnbp.com", nil},
		{`ipxe.efi`, "ipxe.efi", nil},
		{`./ipxe.efi`, "ipxe.efi", nil},
		{`../etc/passwd`, "", errEscape},
		{`..\..\etc\passwd`, "", errEscape},
		{`boot/../../etc/passwd`, "", errEscape},
		{`boot/../ipxe.efi`, "", errEscape},
		{`/..`, "", errEscape},
		{`..`, "", errEscape},
		{``, "", errEmptyPath},
		{`/`, "", errEmptyPath},
		{`\`, "", errEmptyPath},
		{`.`, "", errEmptyPath},
		{`...`, "...", nil},
		{`..foo`, "..foo", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := cleanName(tt.in)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("cleanName(%q) = %q, %v, want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

// TestPaths requests each FORMATS case 10 path over the wire and checks
// the first packet the server answers with.
func TestPaths(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelDebug)
	const refused = `ERROR 2 "access violation"`
	const missing = `ERROR 1 "file not found"`
	siblingAbs := filepath.Join(fx.sibling, "passwd")
	tests := []struct {
		name, path, want string
		content          string // when served: the content expected
	}{
		{"backslashes", `\boot\x64\wdsnbp.com`, "DATA 1 (19 bytes)", "wdsnbp boot program"},
		{"leading slash", `/boot/x64/wdsnbp.com`, "DATA 1 (19 bytes)", "wdsnbp boot program"},
		{"plain", `boot/x64/wdsnbp.com`, "DATA 1 (19 bytes)", "wdsnbp boot program"},
		{"second root", `undionly.kpxe`, "DATA 1 (27 bytes)", "undionly from the ipxe root"},
		{"first root wins", `both.txt`, "DATA 1 (19 bytes)", "from the first root"},
		{"symlink inside root", `inside-link.bin`, "DATA 1 (512 bytes)", ""},
		{"dot dot", `../etc/passwd`, refused, ""},
		{"dot dot backslashes", `..\..\etc\passwd`, refused, ""},
		{"dot dot after folder", `boot/../../etc/passwd`, refused, ""},
		{"sibling with root prefix", `../root-secret/passwd`, refused, ""},
		{"sibling by absolute path", siblingAbs, missing, ""},
		{"symlink escaping", `escape.txt`, refused, ""},
		{"absolute symlink escaping", `abs-escape.txt`, refused, ""},
		{"folder", `boot`, refused, ""},
		{"root itself", `/`, refused, ""},
		{"missing", `nothing.efi`, missing, ""},
		{"through a file", `small.bin/x`, missing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRawClient(t, ts.addr)
			c.rrq(tt.path, "octet")
			first := c.recv()
			if got := describe(first); got != tt.want {
				t.Fatalf("RRQ %q: first packet = %s, want %s", tt.path, got, tt.want)
			}
			if tt.content != "" {
				got, _ := c.download(first, 512)
				if string(got) != tt.content {
					t.Errorf("RRQ %q: got %q, want %q", tt.path, got, tt.content)
				}
			}
			prefix := `access violation" ip=127.0.0.1 file=`
			if tt.want == refused && !ts.waitLog(prefix+tt.path, prefix+strconv.Quote(tt.path)) {
				t.Errorf("RRQ %q: no log line for the refusal", tt.path)
			}
			if tt.want != refused && tt.want != missing && opcodeOf(first) == opDATA && tt.content == "" {
				c.sendError(errUndefined, "test done")
			}
		})
	}
	var want uint64
	for _, tt := range tests {
		if strings.HasPrefix(tt.want, "ERROR") {
			want++
		}
	}
	st := ts.waitStats(t, func(s Stats) bool { return s.Refused == want })
	if st.Refused != want {
		t.Errorf("Stats().Refused = %d, want %d", st.Refused, want)
	}
}

// TestWriteRefused checks that a WRQ gets ERROR 2 (FORMATS case 10).
func TestWriteRefused(t *testing.T) {
	ts := startServer(t, Config{}, nil, slog.LevelDebug)
	c := newRawClient(t, ts.addr)
	c.sendTo(ts.addr, encodeRequest(opWRQ, "new.bin", "octet"))
	if got, want := describe(c.recv()), `ERROR 2 "server is read-only"`; got != want {
		t.Errorf("WRQ: reply = %s, want %s", got, want)
	}
	if st := ts.Stats(); st.Refused != 1 || st.Requests != 1 {
		t.Errorf("Stats() = %+v, want Requests 1, Refused 1", st)
	}
}

// TestPinnedFiles checks Config.Files: a loader that is a link out of its
// directory, as Debian's /usr/lib/ipxe/ipxe.efi is, is served under its
// pinned name only, while the same link met through a root stays refused.
func TestPinnedFiles(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ipxe.efi")
	if err := os.Symlink(filepath.Join(fx.outside, "secret.txt"), link); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{
		Roots: []string{fx.root},
		Files: map[string]string{"ipxe.efi": link, "pinned.efi": link},
	}, nil, slog.LevelDebug)
	tests := []struct{ path, want, content string }{
		{"pinned.efi", "DATA 1 (14 bytes)", "outside secret"},
		{`\pinned.efi`, "DATA 1 (14 bytes)", "outside secret"},
		{"ipxe.efi", "DATA 1 (512 bytes)", ""}, // the root comes first
		{"escape.txt", `ERROR 2 "access violation"`, ""},
		{"secret.txt", `ERROR 1 "file not found"`, ""},
	}
	for _, tt := range tests {
		c := newRawClient(t, ts.addr)
		c.rrq(tt.path, "octet")
		first := c.recv()
		if got := describe(first); got != tt.want {
			t.Errorf("RRQ %q: first packet = %s, want %s", tt.path, got, tt.want)
			continue
		}
		if tt.content != "" {
			if got, _ := c.download(first, 512); string(got) != tt.content {
				t.Errorf("RRQ %q: got %q, want %q", tt.path, got, tt.content)
			}
		} else if opcodeOf(first) == opDATA {
			c.sendError(errUndefined, "test done")
		}
	}
}

func TestPinnedFilesValidated(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"missing file", map[string]string{"ipxe.efi": filepath.Join(fx.dir, "nope")}},
		{"folder", map[string]string{"ipxe.efi": fx.root}},
		{"unclean name", map[string]string{"/ipxe.efi": filepath.Join(fx.root, "small.bin")}},
		{"escaping name", map[string]string{"../ipxe.efi": filepath.Join(fx.root, "small.bin")}},
	}
	for _, tt := range tests {
		if _, err := NewServer(Config{Files: tt.files}, nil, nil); err == nil {
			t.Errorf("%s: NewServer(Files: %v) = nil error, want one", tt.name, tt.files)
		}
	}
	if _, err := NewServer(Config{Files: map[string]string{"x.efi": filepath.Join(fx.root, "small.bin")}}, nil, nil); err != nil {
		t.Errorf("NewServer with Files only = %v, want nil", err)
	}
}
