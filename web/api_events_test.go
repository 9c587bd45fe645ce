package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// sseEvent is one event of a stream as a client reads it.
type sseEvent struct {
	name, id string
	notice   inventory.Notice
}

// sseClient reads an event stream from the admin side of e.
type sseClient struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

func openStream(t *testing.T, e *env, target string, hdr http.Header) *sseClient {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		routeTest(t, e.srv, r).ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); srv.Close() })
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return &sseClient{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads the next event, or the next comment when comment is set.
func (c *sseClient) next() (ev sseEvent, comment string) {
	c.t.Helper()
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, ":"):
			return sseEvent{}, line
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.notice); err != nil {
				c.t.Fatalf("data %q: %v", line, err)
			}
		case line == "" && ev.name != "":
			return ev, ""
		}
	}
}

// event reads the next event, skipping comments.
func (c *sseClient) event() sseEvent {
	c.t.Helper()
	for {
		if ev, comment := c.next(); comment == "" {
			return ev
		}
	}
}

func (e *env) record(t *testing.T, mac string, kind inventory.EventKind) inventory.Event {
	t.Helper()
	ev, err := e.inv.Record(mac, inventory.Event{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// wantEvents reads len(want) events and checks their MACs and kinds.
func (c *sseClient) wantEvents(want ...string) {
	c.t.Helper()
	for _, w := range want {
		ev := c.event()
		got := ev.notice.MAC + " " + string(ev.notice.Event.Kind)
		if ev.name != "timeline" || ev.id != strconv.FormatUint(ev.notice.Event.Seq, 10) || got != w {
			c.t.Fatalf("event = %s id %s %q, want timeline with its seq as id, %q", ev.name, ev.id, got, w)
		}
	}
}

func TestEventsStream(t *testing.T) {
	e := newEnv(t)
	e.record(t, mac1, inventory.EventDHCPOffer) // before the stream: not sent
	all := openStream(t, e, "/api/v1/events", nil)
	one := openStream(t, e, "/api/v1/events?mac="+mac1, nil)
	byName := openStream(t, e, "/api/v1/events?mac=node2", nil)
	if ct := all.resp.Header.Get("Content-Type"); all.resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("GET /api/v1/events = %d %q, want 200 text/event-stream", all.resp.StatusCode, ct)
	}
	e.record(t, macNew, inventory.EventDiscovered)
	e.record(t, mac3, inventory.EventDHCPOffer)
	e.record(t, mac1, inventory.EventScriptServed)
	all.wantEvents(macNew+" discovered", mac3+" dhcp-offer", mac1+" script-served")
	one.wantEvents(mac1 + " script-served")
	byName.wantEvents(mac3 + " dhcp-offer")
}

func TestEventsResume(t *testing.T) {
	e := newEnv(t)
	first := e.record(t, mac1, inventory.EventDHCPOffer)
	e.record(t, mac2, inventory.EventDHCPOffer)
	e.record(t, mac1, inventory.EventScriptServed)
	id := http.Header{"Last-Event-Id": {strconv.FormatUint(first.Seq, 10)}}
	all := openStream(t, e, "/api/v1/events", id)
	one := openStream(t, e, "/api/v1/events?mac="+mac1, id)
	e.record(t, mac1, inventory.EventKernelFetched)
	all.wantEvents(mac2+" dhcp-offer", mac1+" script-served", mac1+" kernel-fetched")
	one.wantEvents(mac1+" script-served", mac1+" kernel-fetched")
}

func TestEventsKeepalive(t *testing.T) {
	defer func(d time.Duration) { streamKeepalive = d }(streamKeepalive)
	streamKeepalive = 10 * time.Millisecond
	e := newEnv(t)
	c := openStream(t, e, "/api/v1/events", nil)
	if _, comment := c.next(); comment != ": keepalive" {
		t.Errorf("quiet stream sent %q, want \": keepalive\"", comment)
	}
}

func TestEventsBadRequests(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, target string
		hdr          http.Header
	}{
		{"bad mac", "/api/v1/events?mac=Junk_1", nil},
		{"broadcast mac", "/api/v1/events?mac=ff:ff:ff:ff:ff:ff", nil},
		{"other parameter", "/api/v1/events?kind=x", nil},
		{"bad last id", "/api/v1/events", http.Header{"Last-Event-Id": {"yesterday"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(t, request{target: tt.target, header: tt.hdr})
			wantCode(t, "GET "+tt.target, w, http.StatusBadRequest, CodeBadRequest)
		})
	}
}

// gateWriter is a ResponseWriter whose writes wait for open.
type gateWriter struct {
	open chan struct{}
	mu   sync.Mutex
	buf  strings.Builder
	hdr  http.Header
}

func (g *gateWriter) Header() http.Header { return g.hdr }
func (g *gateWriter) WriteHeader(int)     {}
func (g *gateWriter) Flush()              {}
func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gateWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

// A stream whose client is slow lags behind the store: it catches up
// from the store, without losing or repeating an event.
func TestEventsLaggingStreamCatchesUp(t *testing.T) {
	e := newEnv(t)
	g := &gateWriter{open: make(chan struct{}), hdr: http.Header{}}
	st := &stream{w: g, rc: http.NewResponseController(g), src: e.inv}
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/events", nil)
	done := make(chan error, 1)
	go func() { done <- st.run(r) }()

	const n = streamBuffer*2 + 10
	var want strings.Builder
	for i := 0; i < n; i++ {
		ev := e.record(t, mac1, inventory.EventDHCPOffer)
		fmt.Fprintf(&want, "id: %d\n", ev.Seq)
	}
	close(g.open)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(g.String(), "event: timeline") < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	var got strings.Builder
	for line := range strings.SplitSeq(g.String(), "\n") {
		if strings.HasPrefix(line, "id: ") {
			got.WriteString(line + "\n")
		}
	}
	if got.String() != want.String() {
		t.Errorf("a lagging stream sent ids\n%s\nwant every event once, in order:\n%s", got.String(), want.String())
	}
}

// A stream ends, sending nothing more, once its caller's token is taken
// back: a revoked viewer must not keep reading the fleet's events.
func TestEventsStreamEndsWhenRevoked(t *testing.T) {
	e := newEnv(t)
	c := openStream(t, e, "/api/v1/events", http.Header{"Authorization": {"Bearer " + viewerToken}})
	e.record(t, mac1, inventory.EventDHCPOffer)
	c.wantEvents(mac1 + " dhcp-offer")

	revokedTokens.Store(viewerToken, true)
	t.Cleanup(func() { revokedTokens.Delete(viewerToken) })
	e.record(t, mac1, inventory.EventScriptServed)
	ended := make(chan []byte, 1)
	go func() {
		rest, _ := io.ReadAll(c.r)
		ended <- rest
	}()
	select {
	case rest := <-ended:
		if strings.Contains(string(rest), "script-served") {
			t.Errorf("a revoked caller's stream carried %q", rest)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream of a revoked caller is still open")
	}
}

// An id from before a restore, past the newest event, resumes from the
// newest event instead of skipping everything up to it.
func TestEventsResumePastTheNewest(t *testing.T) {
	e := newEnv(t)
	e.record(t, mac1, inventory.EventDHCPOffer)
	c := openStream(t, e, "/api/v1/events", http.Header{"Last-Event-Id": {"1000"}})
	e.record(t, mac2, inventory.EventDHCPOffer)
	c.wantEvents(mac2 + " dhcp-offer")
}

// Shutting the admin listener down ends open streams at once instead of
// waiting out the grace period and cutting them.
func TestEventsEndAtShutdown(t *testing.T) {
	e := newEnv(t)
	cfg := e.srv.cfg
	cfg.ShutdownTimeout = time.Minute
	srv, err := NewServer(cfg, e.inv, slog.New(slog.NewTextHandler(e.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newTestAdmin(t, srv, AdminConfig{}).Serve(ctx, ln) }()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve() = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve still waiting for an open event stream 30 s after the stop")
	}
	if strings.Contains(e.logs.String(), "cut short") {
		t.Errorf("the stream was cut rather than ended:\n%s", e.logs)
	}
}

func TestEventsOfAnUnknownName(t *testing.T) {
	e := newEnv(t)
	if w := e.get(t, "/api/v1/events?mac=node9"); w.Code != http.StatusNotFound {
		t.Errorf("GET events of an undeclared name = %d %s, want 404", w.Code, w.Body)
	}
	if w := e.get(t, "/api/v1/events?mac=Not_A_Name"); w.Code != http.StatusBadRequest {
		t.Errorf("GET events of junk = %d %s, want 400", w.Code, w.Body)
	}
}
