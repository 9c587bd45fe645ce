package inventory

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTimelineSince(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	const a, b = "02:00:00:00:00:01", "02:00:00:00:00:02"
	var seqs []uint64
	for _, mac := range []string{a, b, a, a, b} {
		e, err := s.Record(mac, Event{Kind: EventDHCPOffer})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	tests := []struct {
		name  string
		mac   string
		after uint64
		want  []uint64
	}{
		{"all", a, 0, []uint64{seqs[0], seqs[2], seqs[3]}},
		{"after the first", a, seqs[0], []uint64{seqs[2], seqs[3]}},
		{"after another mac's event", a, seqs[1], []uint64{seqs[2], seqs[3]}},
		{"after the last", a, seqs[3], nil},
		{"other mac", b, seqs[2], []uint64{seqs[4]}},
		{"unknown mac", "02:00:00:00:00:09", 0, nil},
		{"max", a, math.MaxUint64, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := s.TimelineSince(tt.mac, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, e := range events {
				got = append(got, e.Seq)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("TimelineSince(%s, %d) seqs (-want +got):\n%s", tt.mac, tt.after, diff)
			}
		})
	}
}

func TestProvisionEventsSetState(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	const mac = "02:00:00:00:00:01"
	steps := []struct {
		kind EventKind
		want State
	}{
		{EventProvisionStarted, StateBooting},
		{EventBMCPower, StateBooting},
		{EventProvisionFailed, StateFailed},
		{EventProvisionStarted, StateBooting},
		{EventOSCallback, StateOSBooted},
		{EventProvisionDone, StateOSBooted},
	}
	for i, st := range steps {
		if _, err := s.Record(mac, Event{Kind: st.kind}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Status(mac)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != st.want {
			t.Errorf("step %d: state after %s = %s, want %s", i, st.kind, got.State, st.want)
		}
	}
}

func TestProfileLocalBoot(t *testing.T) {
	tests := []struct {
		value   string
		want    LocalBoot
		wantErr string
	}{
		{"", "", ""},
		{"exit", LocalBootExit, ""},
		{"sanboot", LocalBootSanboot, ""},
		{"grub", "", `local_boot: "grub" is not exit or sanboot`},
		{"EXIT", "", `local_boot: "EXIT" is not exit or sanboot`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			doc := "profiles:\n  - name: p\n    kernel: k\n"
			if tt.value != "" {
				doc += "    local_boot: " + tt.value + "\n"
			}
			c, err := ParseCatalog([]byte(doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCatalog(local_boot %q) = %v, want error %q", tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCatalog(local_boot %q) = %v", tt.value, err)
			}
			if p, _ := c.Profile("p"); p.LocalBoot != tt.want {
				t.Errorf("ParseCatalog(local_boot %q).LocalBoot = %q, want %q", tt.value, p.LocalBoot, tt.want)
			}
		})
	}
}
