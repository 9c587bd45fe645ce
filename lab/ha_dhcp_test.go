package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The DHCP replica lab's network: both replicas and perfdhcp are hosts
// of the lab bridge; the pool is a /16 so that 50,000 clients fit.
const (
	haSubnet    = "10.213.0.0/16"
	haPoolStart = "10.213.1.0"
	haPoolEnd   = "10.213.255.254"
	// haClient is perfdhcp's address: it acts as a relay (giaddr), so the
	// replicas answer it by unicast on port 67.
	haClient     = "10.213.0.21"
	haClientCIDR = haClient + "/24"
	perfdhcpBin  = "/usr/sbin/perfdhcp"
)

// haDHCPSettings are the settings both replicas of the DHCP lab share:
// leases that outlive the run, and JSON logs at Info, where each grant
// is one "lease granted" line with mac and ip.
func haDHCPSettings() map[string]any {
	return map[string]any{
		"subnet": haSubnet, "pool-start": haPoolStart, "pool-end": haPoolEnd,
		"router": serverIP, "lease-time": "24h",
		"log-level": "info", "log-format": "json",
	}
}

// haLoad is the perfdhcp run: clients distinct clients, one exchange
// each, started at rate per second.
type haLoad struct {
	clients, rate int
}

// haLoadFromEnv reads RACKBOOT_HA_CLIENTS (default 2000, 20 s of load)
// and RACKBOOT_HA_RATE (default 100 exchanges a second). Each ACK costs
// its replica one create in the API server, and the store's client
// allows 50 requests a second (burst 100) per replica; beyond about 100
// exchanges a second the replicas' DHCP workers wait on that limit and
// drop packets.
func haLoadFromEnv(t *testing.T) haLoad {
	t.Helper()
	l := haLoad{clients: 2000, rate: 100}
	for name, v := range map[string]*int{"RACKBOOT_HA_CLIENTS": &l.clients, "RACKBOOT_HA_RATE": &l.rate} {
		s := os.Getenv(name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", name, s)
		}
		*v = n
	}
	return l
}

// TestLabReplicasDHCP runs two authoritative replicas sharing one store
// namespace, each in its own namespace on the lab bridge, under perfdhcp
// in a third: haLoad's distinct clients, each one DISCOVER-OFFER-
// REQUEST-ACK. Both replicas answer every DISCOVER; each REQUEST names
// one of them (option 54) and the other drops its offer. perfdhcp must
// report no non-unique acknowledged address (-u), every ACK the client
// saw must be a DHCPLease in the API server under the MAC it went to,
// and no address may have been granted to two MACs by the replicas
// together.
func TestLabReplicasDHCP(t *testing.T) {
	requireLab(t)
	if _, err := os.Stat(perfdhcpBin); err != nil {
		t.Skipf("the replica DHCP lab needs perfdhcp (apt-get install kea-admin): %v", err)
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skipf("the replica DHCP lab needs tcpdump to see the ACKs: %v", err)
	}
	load := haLoadFromEnv(t)
	bin, tos, n, ns := storeLab(t)
	var rs []*replica
	for _, rc := range []replicaConfig{
		{id: "r1", iface: "r1eth", cidr: "10.213.0.11/24", settings: haDHCPSettings()},
		{id: "r2", iface: "r2eth", cidr: "10.213.0.12/24", settings: haDHCPSettings()},
	} {
		rs = append(rs, startReplica(t, n, ns, bin, tos, rc))
	}
	c := newNetns(t)
	n.addHost(t, c, "pdeth", haClientCIDR)
	dir := t.ArtifactDir()
	pcap := filepath.Join(dir, "perfdhcp.pcap")
	dump := startProc(t, "tcpdump", dir, c.command("tcpdump", "-i", "pdeth", "-n", "-U",
		"-B", "32768", "-w", pcap, "udp port 67 and not src host "+haClient))
	waitFile(t, pcap, 10*time.Second)

	cpu0 := replicasCPU(t, rs)
	start := time.Now()
	run := haRun{load: load, rep: runPerfdhcp(t, c, load)}
	run.wall = time.Since(start)
	run.cpu = replicasCPU(t, rs)
	time.Sleep(time.Second) // the last replies reach tcpdump's file
	dump.stop()

	run.acks = readACKs(t, pcap, dump.log)
	run.grants = map[string][]grant{}
	for _, r := range rs {
		run.grants[r.id] = readGrants(t, r.log)
		run.cpu[r.id] -= cpu0[r.id]
	}
	run.log(t, rs)
	leases := listLeases(t, ns)
	res := checkReplicasDHCP(t, run.rep, run.acks, run.grants, leases)
	t.Logf("ha-dhcp: DHCPLease objects %d, ACKs missing from the API server %d, "+
		"addresses granted to two MACs %d", len(leases), res.missing, res.duplicates)
}

// haRun is what the replica DHCP lab measured.
type haRun struct {
	load   haLoad
	wall   time.Duration
	rep    perfReport
	acks   capturedACKs
	grants map[string][]grant       // by replica
	cpu    map[string]time.Duration // during the load, by replica
}

// log reports the figures, each line starting "ha-dhcp:" for
// bench/ha/run.sh.
func (h haRun) log(t *testing.T, rs []*replica) {
	t.Helper()
	t.Logf("ha-dhcp: clients %d rate %d/s wall %s", h.load.clients, h.load.rate, h.wall.Round(100*time.Millisecond))
	t.Logf("ha-dhcp: perfdhcp DISCOVER sent %d, OFFER received %d, drops %d, non-unique offers %d",
		h.rep.do.sent, h.rep.do.received, h.rep.do.drops, h.rep.do.nonUnique)
	t.Logf("ha-dhcp: perfdhcp REQUEST sent %d, ACK received %d, drops %d, rejected %d, non-unique addresses %d",
		h.rep.ra.sent, h.rep.ra.received, h.rep.ra.drops, h.rep.ra.rejected, h.rep.ra.nonUnique)
	t.Logf("ha-dhcp: ACKs captured %d (tcpdump dropped %d), NAKs captured %d, OFFERs by server %v",
		len(h.acks.acks), h.acks.dropped, h.acks.naks, h.acks.offers)
	for _, r := range rs {
		t.Logf("ha-dhcp: replica %s granted %d, refused %d, CPU %s", r.id, len(h.grants[r.id]),
			countLines(r.log, `"msg":"request refused"`), h.cpu[r.id].Round(100*time.Millisecond))
	}
}

// waitFile waits up to d for path to exist.
func waitFile(t *testing.T, path string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %s", path, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runPerfdhcp runs perfdhcp in c against every server on the link
// (broadcast) with load and returns its report. -u has it count the
// acknowledged addresses it saw twice; clients are distinct because
// perfdhcp steps through its -R MACs in order.
func runPerfdhcp(t *testing.T, c *netns, load haLoad) perfReport {
	t.Helper()
	dir := t.ArtifactDir()
	args := []string{"-4", "-l", "pdeth", "-u",
		"-R", strconv.Itoa(load.clients), "-n", strconv.Itoa(load.clients),
		"-r", strconv.Itoa(load.rate),
		// An exchange is lost after 5 s; perfdhcp waits 5 s at the end
		// for answers still in flight.
		"-d", "5", "-W", "5000000"}
	limit := time.Duration(load.clients/load.rate)*time.Second*3 + 2*time.Minute
	p := startProc(t, "perfdhcp", dir, c.command(perfdhcpBin, args...))
	select {
	case <-p.done:
	case <-time.After(limit):
		p.stop()
		t.Fatalf("perfdhcp still ran after %s:\n%s", limit, tail(p.log, 40))
	}
	// perfdhcp exits 3 when an exchange was dropped: the report says how
	// many, and the checks decide.
	if code := p.cmd.ProcessState.ExitCode(); code != 0 && code != 3 {
		t.Fatalf("perfdhcp exited %d:\n%s", code, tail(p.log, 40))
	}
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := parsePerfdhcp(string(b))
	if err != nil {
		t.Fatalf("perfdhcp's report (%s): %v\n%s", p.log, err, tail(p.log, 40))
	}
	return rep
}

// replicasCPU returns the user and system CPU time each replica has used.
func replicasCPU(t *testing.T, rs []*replica) map[string]time.Duration {
	t.Helper()
	cpu := map[string]time.Duration{}
	for _, r := range rs {
		d, err := processCPU(r.cmd.Process.Pid)
		if err != nil {
			t.Logf("CPU of %s: %v", r.id, err)
		}
		cpu[r.id] = d
	}
	return cpu
}

// processCPU reads utime + stime of pid from /proc (clock ticks of
// 1/100 s on Linux).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// fields 14 and 15 follow it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("reading /proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
