package tftp

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/internal/testlog"
)

// Sizes of fixture files.
const (
	smallSize    = 1000
	ipxeSize     = 1 << 20
	rolloverSize = 33_554_532 // FORMATS case 9: 65,536 full 512-byte blocks + 100
)

// fixture is the file tree shared by the tests of this package, made once
// by TestMain:
//
//	root/            the first root
//	root-secret/     a sibling whose name starts with the root's name
//	outside/         a folder outside every root
//	ipxe/            the second root
type fixture struct {
	dir, root, ipxe, sibling, outside string
	files                             map[string][]byte // root-relative name -> content
}

var fx fixture

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tftp-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = fx.build(dir)
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, "building fixture:", err)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build writes the fixture tree under dir.
func (f *fixture) build(dir string) error {
	f.dir = dir
	f.root = filepath.Join(dir, "root")
	f.ipxe = filepath.Join(dir, "ipxe")
	f.sibling = filepath.Join(dir, "root-secret")
	f.outside = filepath.Join(dir, "outside")
	f.files = map[string][]byte{
		"boot/x64/wdsnbp.com": []byte("wdsnbp boot program"),
		"small.bin":           randomBytes(1, smallSize),
		"exact.bin":           randomBytes(2, 2*512),
		"empty.bin":           {},
		"ipxe.efi":            randomBytes(3, ipxeSize),
		"text.txt":            []byte("line one\nline two\r\nbare\rcr\n\n"),
		"both.txt":            []byte("from the first root"),
		"big.bin":             randomBytes(4, rolloverSize),
	}
	for name, data := range f.files {
		if err := writeFile(filepath.Join(f.root, name), data); err != nil {
			return err
		}
	}
	writes := map[string][]byte{
		filepath.Join(f.ipxe, "undionly.kpxe"): []byte("undionly from the ipxe root"),
		filepath.Join(f.ipxe, "both.txt"):      []byte("from the second root"),
		filepath.Join(f.sibling, "passwd"):     []byte("sibling secret"),
		filepath.Join(f.outside, "secret.txt"): []byte("outside secret"),
	}
	for path, data := range writes {
		if err := writeFile(path, data); err != nil {
			return err
		}
	}
	if err := os.Symlink("../outside/secret.txt", filepath.Join(f.root, "escape.txt")); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(f.outside, "secret.txt"), filepath.Join(f.root, "abs-escape.txt")); err != nil {
		return err
	}
	return os.Symlink("small.bin", filepath.Join(f.root, "inside-link.bin"))
}

// writeFile writes data to path, making its folders.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// sum returns the hex SHA-256 of b.
func sum(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// logBuffer collects log output; safe for concurrent use.
type logBuffer = testlog.Buffer

// testServer is a Server serving on 127.0.0.1 for one test.
type testServer struct {
	*Server
	addr netip.AddrPort
	logs *logBuffer
}

// startServer serves the fixture roots (unless cfg names some) on an
// ephemeral 127.0.0.1 port until the test ends. Logs are kept at level
// and printed when the test fails.
func startServer(t testing.TB, cfg Config, rec Recorder, level slog.Level) *testServer {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))
	return startServerLog(t, cfg, rec, log, logs)
}

// startServerLog is startServer with the logger log, which writes to logs.
func startServerLog(t testing.TB, cfg Config, rec Recorder, log *slog.Logger, logs *logBuffer) *testServer {
	t.Helper()
	if cfg.Roots == nil {
		cfg.Roots = []string{fx.root, fx.ipxe}
	}
	srv, err := NewServer(cfg, rec, log)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
		if t.Failed() && len(logs.String()) < 1<<20 {
			t.Logf("server log:\n%s", logs)
		}
	})
	<-srv.Ready()
	return &testServer{Server: srv, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), logs: logs}
}

// waitStats waits until ok(Stats) holds, for counters updated after the
// last packet went out.
func (ts *testServer) waitStats(t testing.TB, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := ts.Stats()
		if ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLog waits until the server log holds one of wants and reports
// whether it does.
func (ts *testServer) waitLog(wants ...string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !containsAny(ts.logs.String(), wants) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
