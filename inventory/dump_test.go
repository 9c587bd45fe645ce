package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

// dumpNow is the clock of the stores these tests fill.
var dumpNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	mac1  = "02:00:00:00:00:01" // node1, the inventory file's
	mac9  = "02:00:00:00:00:09" // node9, declared through the API
	mac77 = "02:00:00:00:00:77" // discovered, never declared
	mac66 = "02:00:00:00:00:66" // rejected
)

// filledInventory returns an inventory over declareDoc whose store holds
// every kind of record, each made through the public methods.
func filledInventory(t *testing.T) *Inventory {
	t.Helper()
	inv := newDeclareInventory(t, t.TempDir())
	storeOf(inv).now = func() time.Time { return dumpNow }
	node9 := apiMachine("node9", mac9)
	node9.Labels = map[string]string{"rack": "r2"}
	node9.Address = netip.MustParseAddr("192.0.2.59")
	node9.Arch = ArchX64EFI
	node9.BMC = &BMC{Address: "192.0.2.200", Protocol: BMCRedfish, CredentialsEnv: "NODE9_BMC"}
	mustPut(t, inv, node9)
	must(t, inv.Reject(mac66))
	must(t, inv.Reject("02:00:00:00:00:0a")) // then declared: the rejection goes
	mustPut(t, inv, apiMachine("node10", "02:00:00:00:00:0a", "02:00:00:00:00:0b"))

	ip50, ip59, ip100 := netip.MustParseAddr("192.0.2.50"),
		netip.MustParseAddr("192.0.2.59"), netip.MustParseAddr("192.0.2.100")
	must(t, inv.PutLease(Lease{MAC: mac1, IP: ip50, Expiry: dumpNow.Add(time.Hour), Hostname: "node1"}))
	must(t, inv.PutLease(Lease{MAC: mac9, IP: ip59, Expiry: dumpNow.Add(time.Hour)}))
	must(t, inv.PutLease(Lease{MAC: mac77, IP: ip100, Expiry: dumpNow.Add(-time.Hour)}))
	must(t, inv.PutDeclined(netip.MustParseAddr("192.0.2.120"), dumpNow.Add(time.Hour)))
	for _, r := range []struct {
		mac string
		e   Event
	}{
		{mac1, Event{Kind: EventDHCPDiscover}},
		{mac1, Event{Kind: EventDHCPAck, IP: ip50}},
		{mac9, Event{Kind: EventDHCPAck, IP: ip59, Time: dumpNow.Add(-time.Minute)}},
		{mac77, Event{Kind: EventDHCPOffer, IP: ip100, Detail: "pool"}},
		{mac1, Event{Kind: EventScriptServed, Detail: "tiny"}},
		{mac9, Event{Kind: EventOSCallback, IP: ip59}},
	} {
		if _, err := inv.Record(r.mac, r.e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inv.RecordByIP(ip100, Event{Kind: EventDiscovered}); err != nil {
		t.Fatal(err)
	}
	mustTake(t, storeOf(inv), "node1", 1, StepInstallerServed)
	mustTake(t, storeOf(inv), "node1", 1, StepInstalled)
	if _, err := inv.NewGeneration("node9"); err != nil {
		t.Fatal(err)
	}
	mustTake(t, storeOf(inv), "node9", 2, StepInstallerServed)
	must(t, inv.PutJob(JobRecord{Machine: "node9", MAC: mac9, Attempt: 1, Attempts: 2,
		Generation: 2, Stage: "os-callback", By: "alice", Queued: dumpNow, Started: dumpNow,
		After: 3, Powered: dumpNow.Add(time.Second)}))
	must(t, inv.PutBootUUID(mac1, "4C4C4544-0042-3510-8052-B4C04F4E5631"))
	must(t, inv.PutBootUUID(mac9, "{4c4c4544-0042-3510-8052-b4c04f4e5639}"))
	return inv
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustTake(t *testing.T, s *Store, name string, gen uint64, step string) {
	t.Helper()
	if ok, err := s.TakeStep(name, gen, step); err != nil || !ok {
		t.Fatalf("TakeStep(%s, %d, %s) = %v, %v, want true", name, gen, step, ok, err)
	}
}

func mustDump(t *testing.T, s *Store) Dump {
	t.Helper()
	d, err := s.Dump()
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return d
}

// emptyStore returns a new store that keeps dumpNow's time.
func emptyStore(t *testing.T) *Store {
	t.Helper()
	s := openTestStore(t, t.TempDir())
	s.now = func() time.Time { return dumpNow }
	return s
}

// rawBucket is a bucket of the store file as bytes.
type rawBucket struct {
	Seq     uint64
	Entries map[string]string
}

// rawBuckets returns every bucket of s that holds something.
func rawBuckets(t *testing.T, s *Store) map[string]rawBucket {
	t.Helper()
	out := map[string]rawBucket{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			rb := rawBucket{Seq: b.Sequence(), Entries: map[string]string{}}
			b.ForEach(func(k, v []byte) error {
				rb.Entries[fmt.Sprintf("%q", k)] = string(v)
				return nil
			})
			if rb.Seq != 0 || len(rb.Entries) > 0 {
				out[string(name)] = rb
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDumpRestoreRoundTrip dumps a store holding every kind of record,
// restores the dump, through its JSON, into a new store, and dumps that:
// the two dumps, and every byte of the two store files' buckets, are the
// same.
func TestDumpRestoreRoundTrip(t *testing.T) {
	src := storeOf(filledInventory(t))
	d1 := mustDump(t, src)
	checkEverySection(t, d1)

	data, err := json.Marshal(d1)
	if err != nil {
		t.Fatal(err)
	}
	read, err := ReadDump(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadDump(json of Dump) = %v", err)
	}
	// Profiles of a Kubernetes store's dump are taken and left out:
	// this store's profiles are the inventory file's.
	read.Profiles = []Profile{{Name: "flatcar", Kernel: "flatcar/vmlinuz"}}
	dst := emptyStore(t)
	if err := dst.Restore(read); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if diff := cmp.Diff(d1, mustDump(t, dst), addrEqual); diff != "" {
		t.Errorf("Dump after Restore (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(rawBuckets(t, src), rawBuckets(t, dst)); diff != "" {
		t.Errorf("store buckets after Restore (-source +restored):\n%s", diff)
	}
}

// checkEverySection fails unless every list of d holds something, so that
// a section the filling forgets cannot pass the round trip unnoticed.
// Profiles are the exception: the embedded store keeps none.
func checkEverySection(t *testing.T, d Dump) {
	t.Helper()
	v := reflect.ValueOf(d)
	for i := range v.NumField() {
		if v.Type().Field(i).Name == "Profiles" {
			continue
		}
		if f := v.Field(i); f.Kind() == reflect.Slice && f.Len() == 0 {
			t.Errorf("the filled store's dump has no %s", v.Type().Field(i).Name)
		}
	}
}

// TestRestoredStoreBehavesTheSame runs the same operations on a store and
// on its restored copy: every result is the same, and new events are
// numbered after the dump's.
func TestRestoredStoreBehavesTheSame(t *testing.T) {
	src := storeOf(filledInventory(t))
	d := mustDump(t, src)
	dst := emptyStore(t)
	must(t, dst.Restore(d))

	ip50 := netip.MustParseAddr("192.0.2.50")
	ops := []struct {
		name string
		do   func(s *Store) (any, error)
	}{
		{"record", func(s *Store) (any, error) { return s.Record(mac9, Event{Kind: EventDHCPDiscover}) }},
		{"record by ip", func(s *Store) (any, error) { return s.RecordByIP(ip50, Event{Kind: EventTFTPServed}) }},
		{"step taken", func(s *Store) (any, error) { return s.TakeStep("node1", 1, StepInstalled) }},
		{"old generation", func(s *Store) (any, error) { return s.TakeStep("node9", 1, StepInstalled) }},
		{"new step", func(s *Store) (any, error) { return s.TakeStep("node9", 2, StepInstalled) }},
		{"provision", func(s *Store) (any, error) { return s.Provision("node9") }},
		{"new generation", func(s *Store) (any, error) { return s.NewGeneration("node9") }},
		{"leases", func(s *Store) (any, error) { return s.Leases() }},
		{"delete lease", func(s *Store) (any, error) { return nil, s.DeleteLease(mac77) }},
		{"mac by ip", func(s *Store) (any, error) { return s.MACByIP(netip.MustParseAddr("192.0.2.100")) }},
		{"declined", func(s *Store) (any, error) { return s.Declined() }},
		{"jobs", func(s *Store) (any, error) { return s.Jobs() }},
		{"rejections", func(s *Store) (any, error) { return s.Rejections() }},
		{"boot uuid", func(s *Store) (any, error) { return s.BootUUID(mac1) }},
		{"status", func(s *Store) (any, error) { return s.Status(mac9) }},
		{"timeline", func(s *Store) (any, error) { return s.Timeline(mac1) }},
		{"events since", func(s *Store) (any, error) { return s.EventsSince(0, "", 0) }},
	}
	for i, op := range ops {
		want, wantErr := op.do(src)
		got, err := op.do(dst)
		if diff := cmp.Diff(want, got, addrEqual); diff != "" || !sameError(wantErr, err) {
			t.Errorf("%s on the restored store = %v (-source +restored):\n%s", op.name, err, diff)
		}
		if e, ok := got.(Event); i == 0 && (!ok || e.Seq != d.Seq+1) {
			t.Errorf("first Record after Restore = %+v, want seq %d (the dump's seq + 1)", got, d.Seq+1)
		}
	}
}

func sameError(a, b error) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error())
}

// TestRestoredInventory checks that an Inventory over a restored store
// declares and rejects what the source did.
func TestRestoredInventory(t *testing.T) {
	dst := emptyStore(t)
	must(t, dst.Restore(mustDump(t, storeOf(filledInventory(t)))))
	inv := New(mustParse(t, declareDoc), dst)
	if errs := inv.Conflicts(); len(errs) > 0 {
		t.Errorf("Conflicts() = %v, want none", errs)
	}
	if got := machineNames(inv.Catalog()); !slices.Equal(got, []string{"node1", "node10", "node9"}) {
		t.Errorf("machines = %v, want node1 (file), node10 and node9 (API)", got)
	}
	m, _, ok := inv.Lookup(mac9)
	if !ok || m.Source != SourceAPI || m.BMC == nil || m.Labels["rack"] != "r2" {
		t.Errorf("Lookup(%s) = %+v, %v, want node9 from the API with its BMC and labels", mac9, m, ok)
	}
	if !inv.Catalog().Rejected(mac66) || inv.Catalog().Rejected("02:00:00:00:00:0a") {
		t.Errorf("Rejected(%s), Rejected(node10's MAC) = %v, %v, want true, false", mac66,
			inv.Catalog().Rejected(mac66), inv.Catalog().Rejected("02:00:00:00:00:0a"))
	}
}

// TestRestoreRefusesAStoreWithState restores into stores that hold one
// record each: every one is refused, and left as it was.
func TestRestoreRefusesAStoreWithState(t *testing.T) {
	empty := Dump{Kind: DumpKind, Version: DumpVersion}
	tests := []struct {
		name string
		fill func(s *Store) error
		want string
	}{
		{"an event", func(s *Store) error {
			_, err := s.Record(mac1, Event{Kind: EventDHCPDiscover})
			return err
		}, "holds machine statuses, timeline events"},
		{"a lease", func(s *Store) error {
			return s.PutLease(Lease{MAC: mac1, IP: netip.MustParseAddr("192.0.2.5")})
		}, "holds leases, addresses seen"},
		{"a boot uuid", func(s *Store) error { return s.PutBootUUID(mac1, strings.Repeat("a", 32)) }, "holds boot UUIDs"},
		{"a job", func(s *Store) error { return s.PutJob(JobRecord{Machine: "node1"}) }, "holds reprovision jobs"},
		{"a generation", func(s *Store) error { _, err := s.NewGeneration("node1"); return err }, "holds provisioning records"},
		{"a rejection", func(s *Store) error { return s.PutRejection(mac66) }, "holds rejected MACs"},
		{"a declined address", func(s *Store) error {
			return s.PutDeclined(netip.MustParseAddr("192.0.2.5"), dumpNow.Add(time.Hour))
		}, "holds declined addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := emptyStore(t)
			must(t, tt.fill(s))
			before := rawBuckets(t, s)
			err := s.Restore(empty)
			if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Restore into a store with %s = %v, want ErrNotEmpty saying %q", tt.name, err, tt.want)
			}
			if diff := cmp.Diff(before, rawBuckets(t, s)); diff != "" {
				t.Errorf("Restore changed the store (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("a full store", func(t *testing.T) {
		s := storeOf(filledInventory(t))
		if err := s.Restore(mustDump(t, s)); !errors.Is(err, ErrNotEmpty) {
			t.Errorf("Restore into the store dumped = %v, want ErrNotEmpty", err)
		}
	})
}

// disown gives the address of l to mac in the address index addrs, or
// takes it out when mac is "".
func disown(addrs []AddressOwner, l Lease, mac string) []AddressOwner {
	var out []AddressOwner
	for _, a := range addrs {
		if a.IP == l.IP {
			if mac == "" {
				continue
			}
			a.MAC = mac
		}
		out = append(out, a)
	}
	return out
}

// cloneDump returns a deep copy of d, through its JSON.
func cloneDump(t *testing.T, d Dump) Dump {
	t.Helper()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var c Dump
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRestoreRefusesBadDumps breaks one thing of a good dump at a time:
// Restore names it and writes nothing.
func TestRestoreRefusesBadDumps(t *testing.T) {
	good := mustDump(t, storeOf(filledInventory(t)))
	// The filled dump's lists, by key: machines node10, node9; leases
	// and timelines mac1, mac9, mac77.
	tests := []struct {
		name   string
		mutate func(d *Dump)
		want   string
	}{
		{"unknown version", func(d *Dump) { d.Version = 2 }, "version 2: this rackboot reads dump version 1 only"},
		{"another kind", func(d *Dump) { d.Kind = "inventory" }, `kind "inventory": not a rackboot state dump`},
		{"bad lease mac", func(d *Dump) { d.Leases[0].MAC = "02:00:00:00:01" },
			`leases[0] (02:00:00:00:01): mac: parsing mac "02:00:00:00:01"`},
		{"lease mac not canonical", func(d *Dump) { d.Leases[2].MAC = "02-00-00-00-00-77" },
			`leases[2] (02-00-00-00-00-77): mac: "02-00-00-00-00-77" is not in canonical form (02:00:00:00:00:77)`},
		{"lease without address", func(d *Dump) { d.Leases[1].IP = netip.Addr{} },
			"leases[1] (02:00:00:00:00:09): ip: required"},
		{"two leases of a mac", func(d *Dump) { d.Leases[1].MAC = mac1 },
			"leases[1] (02:00:00:00:00:01): mac: 02:00:00:00:00:01 is in leases[0] too"},
		{"an address leased twice", func(d *Dump) { d.Leases[2].IP = d.Leases[0].IP },
			"leases[2] (02:00:00:00:00:77): ip: 192.0.2.50 is in leases[0] too"},
		{"machine mac not canonical", func(d *Dump) { d.Machines[1].MACs[0] = "02-00-00-00-00-09" },
			`machines[1] (node9): macs[0]: "02-00-00-00-00-09" is not in canonical form (02:00:00:00:00:09)`},
		{"machine declared twice", func(d *Dump) { d.Machines[1].Name = "node10" },
			"machines[1] (node10): name: defined twice"},
		{"mac declared twice", func(d *Dump) { d.Machines[1].MACs = []string{"02:00:00:00:00:0b"} },
			"machines[1] (node9): macs[0]: 02:00:00:00:00:0b already belongs to node10"},
		{"machine with a bad name", func(d *Dump) { d.Machines[0].Name = "Node 10" },
			`machines[0] (Node 10): name: "Node 10" is not a DNS label`},
		{"machine with a bad bmc", func(d *Dump) { d.Machines[1].BMC.CredentialsEnv = "" },
			"machines[1] (node9): bmc.credentials_file: one of credentials_file, credentials_env and credentials_secret is required"},
		{"machine without a profile", func(d *Dump) { d.Machines[0].Profile = "" },
			`machines[0] (node10): profile: "" is not a profile name`},
		{"multicast rejection", func(d *Dump) { d.Rejected[0].MAC = "03:00:00:00:00:66" },
			"rejected[0] (03:00:00:00:00:66): mac: 03:00:00:00:00:66 is a multicast"},
		{"rejected twice", func(d *Dump) { d.Rejected = append(d.Rejected, d.Rejected[0]) },
			"rejected[1] (02:00:00:00:00:66): mac: 02:00:00:00:00:66 is in rejected[0] too"},
		{"declined twice", func(d *Dump) { d.Declined = append(d.Declined, d.Declined[0]) },
			"declined[1]: ip: 192.0.2.120 is in declined[0] too"},
		{"address without mac", func(d *Dump) { d.Addresses[0].MAC = "" },
			`addresses[0] (192.0.2.100): mac: parsing mac ""`},
		{"generation 0", func(d *Dump) { d.Provisioning[1].Generation = 0 },
			"provisioning[1] (node9): generation: 0; generations count from 1"},
		{"provisioning of a bad name", func(d *Dump) { d.Provisioning[0].Machine = "" },
			`provisioning[0]: machine: "" is not a machine name`},
		{"two jobs of a machine", func(d *Dump) { d.Jobs = append(d.Jobs, d.Jobs[0]) },
			"jobs[1] (node9): machine: node9 is in jobs[0] too"},
		{"bad uuid", func(d *Dump) { d.BootUUIDs[0].UUID = "not-a-uuid" },
			`boot_uuids[0] (02:00:00:00:00:01): uuid: uuid "not-a-uuid": not 32 hex digits`},
		{"uuid not canonical", func(d *Dump) { d.BootUUIDs[1].UUID = strings.ToUpper(d.BootUUIDs[1].UUID) },
			"boot_uuids[1] (02:00:00:00:00:09): uuid: \"4C4C4544-0042-3510-8052-B4C04F4E5639\" is not in canonical form"},
		{"two timelines of a mac", func(d *Dump) { d.Timelines[2].MAC, d.Timelines[2].Status.MAC = mac1, mac1 },
			"timelines[2] (02:00:00:00:00:01): mac: 02:00:00:00:00:01 is in timelines[0] too"},
		{"events out of order", func(d *Dump) {
			ev := d.Timelines[0].Events
			ev[0], ev[1] = ev[1], ev[0]
		}, "timelines[0] (02:00:00:00:00:01): events[1]: seq: 1 is not above the event before it (2): out of order"},
		{"a seq used twice", func(d *Dump) { d.Timelines[2].Events[0].Seq = 2 },
			"timelines[2] (02:00:00:00:00:77): events[0]: seq: 2 is an event of 02:00:00:00:00:01 too"},
		{"a seq above the dump's", func(d *Dump) { d.Seq = 6 },
			"timelines[2] (02:00:00:00:00:77): events[1]: seq: 7 is above the dump's seq, 6"},
		{"seq 0", func(d *Dump) { d.Timelines[0].Events[0].Seq = 0 },
			"timelines[0] (02:00:00:00:00:01): events[0]: seq: 0; events count from 1"},
		{"event without a kind", func(d *Dump) { d.Timelines[0].Events[1].Kind = "" },
			"timelines[0] (02:00:00:00:00:01): events[1]: kind: required"},
		{"status of another mac", func(d *Dump) { d.Timelines[2].Status.MAC = mac9 },
			`timelines[2] (02:00:00:00:00:77): status.mac: "02:00:00:00:00:09" is not the timeline's`},
		{"unknown state", func(d *Dump) { d.Timelines[1].Status.State = "bogus" },
			`timelines[1] (02:00:00:00:00:09): status.state: "bogus" is not a machine state`},
		{"unknown event kind", func(d *Dump) { d.Timelines[0].Events[1].Kind = "os-callbak" },
			`timelines[0] (02:00:00:00:00:01): events[1]: kind: "os-callbak" is not an event kind rackboot records`},
		{"address index disagrees with a lease", func(d *Dump) { d.Addresses = disown(d.Addresses, d.Leases[0], mac9) },
			"says 192.0.2.50 is 02:00:00:00:00:09's"},
		{"leased address not indexed", func(d *Dump) { d.Addresses = disown(d.Addresses, d.Leases[0], "") },
			"leases[0] (02:00:00:00:00:01): ip: 192.0.2.50 is not in addresses"},
		{"profile without a kernel", func(d *Dump) { d.Profiles = []Profile{{Name: "flatcar"}} },
			"profiles[0] (flatcar): kernel: required"},
		{"two profiles of a name", func(d *Dump) {
			p := Profile{Name: "flatcar", Kernel: "flatcar/vmlinuz"}
			d.Profiles = []Profile{p, p}
		}, "profiles[1] (flatcar): name: flatcar is in profiles[0] too"},
		{"status behind its timeline", func(d *Dump) {
			d.Timelines[0].Status.LastEvent = d.Timelines[0].Events[0]
		}, "timelines[0] (02:00:00:00:00:01): status.last_event: seq 1 is not the last event's, 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := cloneDump(t, good)
			tt.mutate(&d)
			s := emptyStore(t)
			before := rawBuckets(t, s)
			err := s.Restore(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Restore(%s) = %v, want an error saying %q", tt.name, err, tt.want)
			}
			if diff := cmp.Diff(before, rawBuckets(t, s)); diff != "" {
				t.Errorf("Restore(%s) wrote to the store:\n%s", tt.name, diff)
			}
		})
	}
}

func TestReadDump(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not json", "kind: rackboot-state", "not a rackboot state dump"},
		{"inventory file", `{"profiles": [], "machines": []}`, `kind "": not a rackboot state dump`},
		{"newer version", `{"kind": "rackboot-state", "version": 2, "leases_v2": []}`,
			"version 2: this rackboot reads dump version 1 only"},
		{"unknown field", `{"kind": "rackboot-state", "version": 1, "leasez": []}`, `unknown field "leasez"`},
		{"data after it", `{"kind": "rackboot-state", "version": 1} {}`, "data after the end of the document"},
		{"bad entry", `{"kind": "rackboot-state", "version": 1, "declined": [{"until": "2026-03-01T12:00:00Z"}]}`,
			"declined[0]: ip: required"},
		{"bad address", `{"kind": "rackboot-state", "version": 1, "leases": [{"mac": "02:00:00:00:00:01", "ip": "10.79.0.300"}]}`,
			`decoding dump: leases[0].ip: ParseAddr("10.79.0.300")`},
		{"bad event address", `{"kind": "rackboot-state", "version": 1, "seq": 1, "timelines": [
			{"mac": "02:00:00:00:00:01", "status": {"mac": "02:00:00:00:00:01", "last_event": {"seq": 1}},
			 "events": [{"seq": 1, "time": "2026-03-01T12:00:00Z", "kind": "dhcp-ack", "ip": "10.0.0.1.2"}]}]}`,
			"decoding dump: timelines[0].events[0].ip: ParseAddr"},
		{"bad time", `{"kind": "rackboot-state", "version": 1, "declined": [{"ip": "192.0.2.1", "until": "soon"}]}`,
			"decoding dump: declined[0].until: "},
		{"empty", `{"kind": "rackboot-state", "version": 1, "seq": 0}`, ""},
		{"a status without a state", `{"kind": "rackboot-state", "version": 1, "seq": 1, "timelines": [
			{"mac": "02:00:00:00:00:01", "status": {"mac": "02:00:00:00:00:01", "last_event": {"seq": 1}},
			 "events": [{"seq": 1, "time": "2026-03-01T12:00:00Z", "kind": "rejected"}]}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadDump(strings.NewReader(tt.doc))
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadDump(%s) = %v, want %q", tt.doc, err, tt.want)
			}
		})
	}
}

// TestDumpIsConsistentUnderWrites dumps a store while others record
// events and leases: every dump validates, so no status is ahead of or
// behind its timeline and no event is above the dump's seq.
func TestDumpIsConsistentUnderWrites(t *testing.T) {
	s := emptyStore(t)
	const writers, each = 4, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			mac := fmt.Sprintf("02:00:00:00:01:%02x", w)
			for i := range each {
				ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(w*each/4 + i%25)})
				if _, err := s.Record(mac, Event{Kind: EventDHCPAck, IP: ip}); err != nil {
					t.Error(err)
					return
				}
				if err := s.PutLease(Lease{MAC: mac, IP: ip, Expiry: dumpNow}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for dumps := 0; ; dumps++ {
		d := mustDump(t, s)
		if err := d.Validate(); err != nil {
			t.Errorf("dump %d taken during writes: %v", dumps, err)
			<-done
			return
		}
		select {
		case <-done:
			if d = mustDump(t, s); d.Seq != writers*each {
				t.Errorf("final dump's seq = %d, want %d", d.Seq, writers*each)
			}
			return
		default:
		}
	}
}

// dumpV1 is a dump as version 1 writes it, one entry of each kind.
// Readers of later versions must keep reading it.
const dumpV1 = `{
  "kind": "rackboot-state",
  "version": 1,
  "created": "2026-03-01T12:00:00Z",
  "seq": 3,
  "machines": [{"name": "node9", "macs": ["02:00:00:00:00:09"], "profile": "tiny",
    "labels": {"rack": "r2"}, "address": "192.0.2.59", "arch": "x64-efi",
    "bmc": {"address": "192.0.2.200", "protocol": "redfish", "credentials_env": "NODE9_BMC"}}],
  "rejected": [{"mac": "02:00:00:00:00:66", "time": "2026-03-01T11:00:00Z"}],
  "leases": [{"mac": "02:00:00:00:00:09", "ip": "192.0.2.59",
    "expiry": "2026-03-01T13:00:00Z", "hostname": "node9"}],
  "declined": [{"ip": "192.0.2.120", "until": "2026-03-01T13:00:00Z"}],
  "addresses": [{"ip": "192.0.2.59", "mac": "02:00:00:00:00:09"}],
  "provisioning": [{"machine": "node9", "generation": 2,
    "steps": {"installer-served": "2026-03-01T11:58:00Z"}}],
  "jobs": [{"machine": "node9", "mac": "02:00:00:00:00:09", "attempt": 1, "attempts": 2,
    "generation": 2, "stage": "os-callback", "by": "alice", "queued": "2026-03-01T11:55:00Z",
    "started": "2026-03-01T11:55:00Z", "after": 1, "powered": "2026-03-01T11:55:01Z"}],
  "boot_uuids": [{"mac": "02:00:00:00:00:09", "uuid": "4c4c4544-0042-3510-8052-b4c04f4e5639"}],
  "timelines": [{"mac": "02:00:00:00:00:09",
    "status": {"mac": "02:00:00:00:00:09", "state": "booting", "ip": "192.0.2.59",
      "first_seen": "2026-03-01T11:55:00Z",
      "last_event": {"seq": 3, "time": "2026-03-01T11:58:00Z", "kind": "script-served", "detail": "tiny"}},
    "events": [
      {"seq": 1, "time": "2026-03-01T11:55:00Z", "kind": "provision-started", "detail": "by alice"},
      {"seq": 2, "time": "2026-03-01T11:57:00Z", "kind": "dhcp-ack", "ip": "192.0.2.59"},
      {"seq": 3, "time": "2026-03-01T11:58:00Z", "kind": "script-served", "detail": "tiny"}]}]
}`

// TestDumpV1 restores dumpV1 and dumps it again: the same document comes
// out, so the format is exactly what dumpV1 shows.
func TestDumpV1(t *testing.T) {
	d, err := ReadDump(strings.NewReader(dumpV1))
	if err != nil {
		t.Fatalf("ReadDump(dumpV1) = %v", err)
	}
	s := emptyStore(t)
	must(t, s.Restore(d))
	out, err := json.Marshal(mustDump(t, s))
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	must(t, json.Unmarshal([]byte(dumpV1), &want))
	must(t, json.Unmarshal(out, &got))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dump of the restored dumpV1 (-dumpV1 +dump):\n%s", diff)
	}
	if e, _ := s.Record(mac9, Event{Kind: EventOSCallback}); e.Seq != 4 {
		t.Errorf("Record after restoring dumpV1 got seq %d, want 4", e.Seq)
	}
	if p, _ := s.Provision("node9"); p.Generation != 2 {
		t.Errorf("Provision(node9) after restoring dumpV1 = %+v, want generation 2", p)
	}
}

// storeOf returns the embedded store under inv.
func storeOf(inv *Inventory) *Store { return inv.Backend.(*Store) }

// TestDumpOwnsLeasedAddresses dumps a store where another MAC was last
// seen with a leased address (it fetched a script from there): the dump
// names the lease's holder, so that it validates and restores.
func TestDumpOwnsLeasedAddresses(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ip := netip.MustParseAddr("192.0.2.21")
	must(t, s.PutLease(Lease{MAC: mac1, IP: ip, Expiry: time.Now().Add(time.Hour)}))
	if _, err := s.Record(mac1, Event{Kind: EventDHCPAck, IP: ip}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(mac9, Event{Kind: EventScriptServed, IP: ip}); err != nil {
		t.Fatal(err)
	}
	d := mustDump(t, s)
	if err := d.Validate(); err != nil {
		t.Fatalf("the dump does not validate: %v", err)
	}
	i := slices.IndexFunc(d.Addresses, func(a AddressOwner) bool { return a.IP == ip })
	if i < 0 || d.Addresses[i].MAC != mac1 {
		t.Errorf("dump's owner of leased %s = %v, want the lease's holder %s", ip, d.Addresses, mac1)
	}
	dst, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	must(t, dst.Restore(d))
}
