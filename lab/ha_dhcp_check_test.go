package lab

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// perfStats is one exchange's figures in perfdhcp's final report.
type perfStats struct {
	sent, received, drops, rejected, nonUnique int
}

// perfReport is perfdhcp's final report of a DORA run.
type perfReport struct {
	do, ra perfStats // DISCOVER-OFFER, REQUEST-ACK
}

// perfFields are the lines of a "***Statistics for: ...***" section
// read, with where each goes. "non unique addresses" counts the
// addresses of this exchange perfdhcp saw twice; it is there only with
// -u (Kea 2.2's stats_mgr.h).
var perfFields = map[string]func(*perfStats) *int{
	"sent packets":         func(s *perfStats) *int { return &s.sent },
	"received packets":     func(s *perfStats) *int { return &s.received },
	"drops":                func(s *perfStats) *int { return &s.drops },
	"rejected leases":      func(s *perfStats) *int { return &s.rejected },
	"non unique addresses": func(s *perfStats) *int { return &s.nonUnique },
}

// parsePerfdhcp reads the DISCOVER-OFFER and REQUEST-ACK sections of
// perfdhcp's output; each must hold every field of perfFields.
func parsePerfdhcp(out string) (perfReport, error) {
	var rep perfReport
	sections := map[string]*perfStats{"DISCOVER-OFFER": &rep.do, "REQUEST-ACK": &rep.ra}
	seen := map[string]map[string]bool{}
	var cur string
	for _, line := range strings.Split(out, "\n") {
		if _, name, ok := strings.Cut(line, "Statistics for: "); ok {
			cur = strings.Trim(name, "* ")
			continue
		}
		st := sections[cur]
		key, val, ok := strings.Cut(line, ": ")
		if st == nil || !ok || perfFields[key] == nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return rep, fmt.Errorf("%s: %q: %w", cur, line, err)
		}
		*perfFields[key](st) = n
		if seen[cur] == nil {
			seen[cur] = map[string]bool{}
		}
		seen[cur][key] = true
	}
	for name := range sections {
		for key := range perfFields {
			if !seen[name][key] {
				return rep, fmt.Errorf("no %q in its %s statistics", key, name)
			}
		}
	}
	return rep, nil
}

// ack is one DHCPACK perfdhcp's namespace received.
type ack struct {
	server, mac, ip string
}

// capturedACKs is what tcpdump saw reach perfdhcp.
type capturedACKs struct {
	acks    []ack
	naks    int
	offers  map[string]int // by server
	dropped int            // packets tcpdump's buffer lost
}

var droppedRE = regexp.MustCompile(`(\d+) packets? dropped by kernel`)

// readACKs decodes the replies in pcap with tcpdump -v, and reads from
// its log (beside pcap) how many packets it lost.
func readACKs(t *testing.T, pcap, log string) capturedACKs {
	t.Helper()
	got := capturedACKs{offers: map[string]int{}}
	if m := droppedRE.FindStringSubmatch(tail(log, 10)); m != nil {
		got.dropped, _ = strconv.Atoi(m[1])
	}
	cmd := exec.Command("tcpdump", "-r", pcap, "-n", "-v")
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		t.Fatalf("tcpdump -r %s: %v", pcap, err)
	}
	var cur ack
	var kind string
	flush := func() {
		switch kind {
		case "ACK":
			got.acks = append(got.acks, cur)
		case "NACK":
			got.naks++
		case "Offer":
			got.offers[cur.server]++
		}
		cur, kind = ack{}, ""
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if line != "" && line[0] != ' ' && line[0] != '\t' {
			flush() // a packet's first line: its time stamp
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == ">" && strings.HasPrefix(f[2], haClient+"."):
			cur.server = strings.TrimSuffix(f[0], ".67") // address.port
		case len(f) == 2 && f[0] == "Your-IP":
			cur.ip = f[1]
		case len(f) == 2 && f[0] == "Client-Ethernet-Address":
			cur.mac = f[1]
		case len(f) >= 5 && f[0] == "DHCP-Message":
			kind = f[len(f)-1]
		}
	}
	flush()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tcpdump -r %s: %v", pcap, err)
	}
	return got
}

// grant is one "lease granted" line of a replica's JSON log.
type grant struct {
	Msg string `json:"msg"`
	MAC string `json:"mac"`
	IP  string `json:"ip"`
}

// readGrants returns the leases a replica's log says it granted.
func readGrants(t *testing.T, log string) []grant {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var gs []grant
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"msg":"lease granted"`)) {
			continue
		}
		var g grant
		if err := json.Unmarshal(line, &g); err != nil || g.MAC == "" || g.IP == "" {
			t.Fatalf("%s: unreadable grant %q: %v", log, line, err)
		}
		gs = append(gs, g)
	}
	return gs
}

// countLines counts the lines of a file holding s.
func countLines(path, s string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte(s))
}

// listLeases returns the DHCPLease objects of ns: the MAC holding each
// address.
func listLeases(t *testing.T, ns *kubeNS) map[string]string {
	t.Helper()
	leases := map[string]string{}
	opts := metav1.ListOptions{Limit: 5000}
	for {
		l, err := ns.dyn.Resource(dhcpLeasesGVR).Namespace(ns.name).List(t.Context(), opts)
		if err != nil {
			t.Fatalf("listing DHCPLeases: %v", err)
		}
		for _, o := range l.Items {
			mac, _, _ := unstructured.NestedString(o.Object, "spec", "mac")
			leases[o.GetName()] = mac
		}
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return leases
		}
	}
}

// haResult counts what the replica DHCP lab found wrong.
type haResult struct {
	missing    int // acknowledged leases not in the API server
	duplicates int // addresses acknowledged or granted to two MACs
}

// checkReplicasDHCP fails t unless perfdhcp saw no address twice, every
// lease acknowledged (captured, or granted in a replica's log) is in
// leases under its MAC, and no address went to two MACs.
func checkReplicasDHCP(t *testing.T, rep perfReport, acks capturedACKs,
	grants map[string][]grant, leases map[string]string) haResult {
	t.Helper()
	var res haResult
	if rep.ra.nonUnique != 0 {
		t.Errorf("perfdhcp: REQUEST-ACK non unique addresses = %d, want 0", rep.ra.nonUnique)
	}
	// Drops under load are reported, not judged; but a run where most
	// clients got nothing proves nothing.
	if rep.ra.received < rep.do.sent/2 || len(acks.acks) == 0 {
		t.Fatalf("perfdhcp received %d ACKs for %d clients, tcpdump saw %d: want most",
			rep.ra.received, rep.do.sent, len(acks.acks))
	}
	if len(acks.acks) < rep.ra.received && acks.dropped == 0 {
		t.Errorf("tcpdump saw %d ACKs, perfdhcp counted %d", len(acks.acks), rep.ra.received)
	}
	holders := map[string]map[string]bool{}
	check := func(source, mac, ip string) {
		if holders[ip] == nil {
			holders[ip] = map[string]bool{}
		}
		if holders[ip][mac] {
			return
		}
		holders[ip][mac] = true
		if got, ok := leases[ip]; !ok || got != mac {
			res.missing++
			if res.missing <= 10 {
				t.Errorf("%s: %s to %s: DHCPLease %s = %q (exists %t), want %s", source, ip, mac, ip, got, ok, mac)
			}
		}
	}
	for _, a := range acks.acks {
		check("ACK from "+a.server, a.mac, a.ip)
	}
	for id, gs := range grants {
		for _, g := range gs {
			check(id+" granted", g.MAC, g.IP)
		}
	}
	for ip, macs := range holders {
		if len(macs) > 1 {
			res.duplicates++
			if res.duplicates <= 10 {
				t.Errorf("%s acknowledged to %d MACs: %v", ip, len(macs), macs)
			}
		}
	}
	return res
}
