package ui_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/web/ui"
)

// ev is one event of a test timeline, s seconds after the first.
type ev struct {
	kind, detail string
	s            int
}

// TestTimelineAttempts runs the timeline module in Chromium: how a
// machine's events split into boot attempts, and what the summary of
// the newest says.
func TestTimelineAttempts(t *testing.T) {
	srv := httptest.NewTLSServer(ui.Handler())
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv)
	b.do(t, "opening the page", chromedp.Navigate(srv.URL+"/"))

	const boot = "arch=x64-efi file=ipxe.efi"
	firstBoot := []ev{{"dhcp-discover", "request to any server", 0}, {"dhcp-offer", boot, 0},
		{"tftp-served", "ipxe.efi", 2}, {"dhcp-offer", "arch=x64-efi file=http://x/boot.ipxe", 4},
		{"script-served", "tiny", 5}, {"kernel-fetched", "", 9}, {"initrd-fetched", "", 12},
		{"dhcp-offer", "", 20}, {"dhcp-ack", "", 20}, {"os-callback", "", 25},
		{"node-ready", "", 250}}
	tests := []struct {
		name    string
		events  []ev
		want    []string // the kinds of each attempt, joined with spaces
		summary string
	}{
		{
			name:    "one boot to ready; the OS's own DHCP stays in it",
			events:  firstBoot,
			want:    []string{"dhcp-discover dhcp-offer tftp-served dhcp-offer script-served kernel-fetched initrd-fetched dhcp-offer dhcp-ack os-callback node-ready"},
			summary: "dhcp-discover → node-ready in 4m 10s",
		},
		{
			name: "a reboot starts an attempt at its boot DHCP",
			events: append(firstBoot[:len(firstBoot):len(firstBoot)], ev{"dhcp-ack", "", 900},
				ev{"bmc-power", "by alice: cycle", 1000}, ev{"dhcp-offer", boot, 1060}, ev{"tftp-served", "ipxe.efi", 1062}),
			want: []string{"dhcp-discover dhcp-offer tftp-served dhcp-offer script-served kernel-fetched initrd-fetched dhcp-offer dhcp-ack os-callback node-ready dhcp-ack bmc-power",
				"dhcp-offer tftp-served"},
			summary: "2 events over 2s, latest tftp-served",
		},
		{
			name: "a reprovision starts an attempt; a stall ends it",
			events: []ev{{"dhcp-offer", boot, 0}, {"provision-started", "generation 2", 10},
				{"dhcp-offer", boot, 70}, {"script-served", "tiny", 75}, {"stalled", "no kernel fetch in 10m", 675}},
			want:    []string{"dhcp-offer", "provision-started dhcp-offer script-served stalled"},
			summary: "stalled after 10m 5s: no kernel fetch in 10m", // from its first DHCP
		},
		{
			name:    "a boot that never got its kernel does not split",
			events:  []ev{{"dhcp-offer", boot, 0}, {"tftp-served", "ipxe.efi", 2}, {"dhcp-offer", boot, 60}},
			want:    []string{"dhcp-offer tftp-served dhcp-offer"},
			summary: "3 events over 1m, latest dhcp-offer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eval[struct {
				Attempts []string
				Summary  string
			}](t, b, attemptsScript(t, tt.events), chromedp.EvalAwaitPromise)
			if diff := cmp.Diff(tt.want, got.Attempts); diff != "" {
				t.Errorf("attempts(%s) (-want +got):\n%s", tt.name, diff)
			}
			if got.Summary != tt.summary {
				t.Errorf("summary(newest) = %q, want %q", got.Summary, tt.summary)
			}
		})
	}
	b.checkClean(t)
}

// attemptsScript imports the timeline module and returns the kinds of
// each attempt of events and the summary of the newest.
func attemptsScript(t *testing.T, events []ev) string {
	t.Helper()
	t0 := time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)
	var js []map[string]any
	for i, e := range events {
		js = append(js, map[string]any{"seq": i + 1, "kind": e.kind, "detail": e.detail,
			"time": t0.Add(time.Duration(e.s) * time.Second).Format(time.RFC3339)})
	}
	data, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	return `import('/ui/js/timeline.js').then((m) => {
		const all = m.attempts(` + string(data) + `);
		return {Attempts: all.map((a) => a.events.map((e) => e.kind).join(' ')),
			Summary: m.summary(all[all.length - 1])};
	})`
}
