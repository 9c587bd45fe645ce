package lab

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/inventory"
)

// stagesDiff checks that want occurs in got as an ordered subsequence of
// event kinds (other events may come between). It returns "" when it does,
// and otherwise a report of which stage matched which event and which are
// missing, followed by the whole timeline.
func stagesDiff(got []inventory.Event, want []inventory.EventKind) string {
	var b strings.Builder
	missing := 0
	next := 0 // index in got after the last matched stage
	for _, w := range want {
		i := indexKind(got, next, w)
		if i < 0 {
			missing++
			fmt.Fprintf(&b, "  - %-15s missing after event %d\n", w, next)
			continue
		}
		fmt.Fprintf(&b, "    %-15s event %d\n", w, i)
		next = i + 1
	}
	if missing == 0 {
		return ""
	}
	fmt.Fprintf(&b, "timeline (%d events):\n", len(got))
	for i, e := range got {
		fmt.Fprintf(&b, "  %3d %-15s %-15s %s\n", i, e.Kind, ipString(e), e.Detail)
	}
	return fmt.Sprintf("%d of %d stages missing or out of order (- missing):\n%s",
		missing, len(want), b.String())
}

// indexKind is the index of the first event of kind k at or after from,
// or -1.
func indexKind(events []inventory.Event, from int, k inventory.EventKind) int {
	for i := from; i < len(events); i++ {
		if events[i].Kind == k {
			return i
		}
	}
	return -1
}

func ipString(e inventory.Event) string {
	if !e.IP.IsValid() {
		return "-"
	}
	return e.IP.String()
}

func TestStagesDiff(t *testing.T) {
	const (
		offer    = inventory.EventDHCPOffer
		ack      = inventory.EventDHCPAck
		tftp     = inventory.EventTFTPServed
		script   = inventory.EventScriptServed
		callback = inventory.EventOSCallback
	)
	want := []inventory.EventKind{offer, ack, tftp, script, callback}
	type kinds = []inventory.EventKind
	tests := []struct {
		name    string
		got     kinds
		missing kinds // "" result when empty
	}{
		{"exact", kinds{offer, ack, tftp, script, callback}, nil},
		{"extra events between", kinds{
			inventory.EventDHCPDiscover, offer, ack, tftp, offer, ack, script, offer, ack, callback,
		}, nil},
		{"empty", nil, want},
		{"one missing", kinds{offer, ack, script, callback}, kinds{tftp}},
		{"out of order", kinds{offer, ack, script, tftp, callback}, kinds{script}},
		{"stops early", kinds{offer, ack, tftp}, kinds{script, callback}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []inventory.Event
			for _, k := range tt.got {
				events = append(events, inventory.Event{Kind: k})
			}
			diff := stagesDiff(events, want)
			if (diff == "") != (len(tt.missing) == 0) {
				t.Fatalf("stagesDiff(%v) = %q, want missing %v", tt.got, diff, tt.missing)
			}
			for _, k := range tt.missing {
				if !strings.Contains(diff, fmt.Sprintf("- %-15s missing", k)) {
					t.Errorf("stagesDiff(%v) does not report %s missing:\n%s", tt.got, k, diff)
				}
			}
		})
	}
}
