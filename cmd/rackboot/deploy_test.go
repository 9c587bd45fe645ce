package main

// Tests of the packaging: the Dockerfile, deploy/rackboot.service and the
// settings deploy/kubernetes hands rackboot. Each is read as rackboot
// would see it and checked against serve's own flags, so a changed
// default or a typo in one of them fails here. No container runtime is
// needed: the image's capabilities are tried on the real binary instead.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/internal/testlog"
	"github.com/rackboot/rackboot/inventory"
)

// packaging is what a way of running rackboot decides about it.
type packaging struct {
	User       string   // uid:gid
	Caps       []string // CAP_ names, sorted
	Ports      []string // "67/udp", sorted
	DataDir    string
	ConfigFile string
}

// wantPackaging is what every way of running rackboot must agree on:
// serve's default ports and data directory, and one user and one
// capability everywhere.
func wantPackaging(t *testing.T) packaging {
	t.Helper()
	var s serveSettings
	fs := newServeFlags(&s)
	admin := fs.Lookup("admin-addr").DefValue
	ports := []string{
		fmt.Sprintf("%d/udp", dhcp.PortServer), fmt.Sprintf("%d/udp", dhcp.PortPXE),
		addrPort(t, s.TFTPAddr) + "/udp", addrPort(t, s.HTTPAddr) + "/tcp", addrPort(t, admin) + "/tcp",
	}
	slices.Sort(ports)
	return packaging{User: "65532:65532", Caps: []string{"CAP_NET_BIND_SERVICE"}, Ports: ports,
		DataDir: s.DataDir, ConfigFile: "/etc/rackboot/rackboot.yaml"}
}

func addrPort(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("default address %q: %v", addr, err)
	}
	return port
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		more := strings.HasSuffix(line, `\`)
		cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
		if more {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	return out
}

// dockerPackaging reads the final stage of the Dockerfile.
func dockerPackaging(t *testing.T, ins []instruction) packaging {
	t.Helper()
	var p packaging
	var cmd []string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			p = packaging{}
		case "USER":
			p.User = in.args
		case "ARG":
			if v, ok := strings.CutPrefix(in.args, "CAPS="); ok {
				p.Caps = parseCapText(t, v)
			}
		case "EXPOSE":
			p.Ports = append(p.Ports, strings.Fields(in.args)...)
		case "VOLUME":
			var v []string
			if err := json.Unmarshal([]byte(in.args), &v); err != nil || len(v) != 1 {
				t.Fatalf("VOLUME %s: want one directory in JSON form", in.args)
			}
			p.DataDir = v[0]
		case "CMD":
			if err := json.Unmarshal([]byte(in.args), &cmd); err != nil {
				t.Fatalf("CMD %s: want the JSON form: %v", in.args, err)
			}
		}
	}
	slices.Sort(p.Ports)
	p.ConfigFile = serveConfig(t, cmd)
	return p
}

// parseCapText turns setcap's "cap_a,cap_b=ep" into sorted CAP_ names; the
// binary must have them effective, as it does not raise them itself.
func parseCapText(t *testing.T, text string) []string {
	t.Helper()
	names, flags, ok := strings.Cut(text, "=")
	if !ok || flags != "ep" {
		t.Fatalf("capabilities %q: want names=ep", text)
	}
	var caps []string
	for _, n := range strings.Split(names, ",") {
		caps = append(caps, strings.ToUpper(n))
	}
	slices.Sort(caps)
	return caps
}

// serveConfig checks that args run "serve" with flags serve accepts and
// returns the --config they name.
func serveConfig(t *testing.T, args []string) string {
	t.Helper()
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("command %q: want serve", args)
	}
	var s serveSettings
	fs := newServeFlags(&s)
	fs.SetOutput(&bytes.Buffer{})
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		t.Fatalf("serve %q: %v (arguments left: %q)", args[1:], err, fs.Args())
	}
	return s.Config
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	want := wantPackaging(t)
	if diff := cmp.Diff(want, dockerPackaging(t, ins)); diff != "" {
		t.Errorf("Dockerfile disagrees with serve's defaults (-want +got):\n%s", diff)
	}

	var froms, entry []string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
		case "ENTRYPOINT":
			entry = append(entry, in.args)
		}
	}
	wantFroms := []string{"golang:1.26-bookworm AS build", "debian:12-slim"}
	if diff := cmp.Diff(wantFroms, froms); diff != "" {
		t.Errorf("Dockerfile stages (-want +got):\n%s", diff)
	}
	for _, f := range froms {
		image, _, _ := strings.Cut(f, " ")
		if _, tag, ok := strings.Cut(image, ":"); !ok || tag == "latest" {
			t.Errorf("FROM %s: want a pinned tag, not latest or none", image)
		}
	}
	if diff := cmp.Diff([]string{`["/usr/local/bin/rackboot"]`}, entry); diff != "" {
		t.Errorf("ENTRYPOINT (-want +got):\n%s", diff)
	}
	run := runText(ins)
	for _, w := range []string{"--uid 65532 --gid 65532", `setcap "${CAPS}" /usr/local/bin/rackboot`,
		"-o 65532 -g 65532 -m 0750 " + want.DataDir, " ipxe "} {
		if !strings.Contains(run, w) {
			t.Errorf("Dockerfile RUN steps lack %q", w)
		}
	}
}

// runText is every RUN instruction, space-separated.
func runText(ins []instruction) string {
	var b strings.Builder
	for _, in := range ins {
		if in.cmd == "RUN" {
			b.WriteString(in.args + " ")
		}
	}
	return b.String()
}

// TestDockerignoreKeepsBuildInputs checks that the build context keeps
// every file "go build ./cmd/rackboot" reads and drops what it does not.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	ignored := readDockerignore(t)
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, "./cmd/rackboot")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, _ := filepath.Abs("../..")
	inputs := []string{"go.mod", "go.sum"}
	for _, f := range strings.Fields(string(out)) {
		rel, _ := filepath.Rel(root, f)
		inputs = append(inputs, filepath.ToSlash(rel))
	}
	if len(inputs) < 20 {
		t.Fatalf("go list found only %d build inputs: %q", len(inputs), inputs)
	}
	for _, f := range inputs {
		if ignored(f) {
			t.Errorf(".dockerignore drops %s, which the build reads", f)
		}
	}
	for _, f := range []string{".git/HEAD", "rackboot", "lab/out/x", "dhcp/testdata/a", "docs/deploy.md"} {
		if !ignored(f) {
			t.Errorf(".dockerignore keeps %s, which the build does not need", f)
		}
	}
}

// readDockerignore returns whether .dockerignore drops a path: a pattern
// matches the path or one of its parent folders; "**" spans folders.
func readDockerignore(t *testing.T) func(string) bool {
	t.Helper()
	data, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var res []*regexp.Regexp
	for line := range strings.Lines(string(data)) {
		p := strings.TrimSpace(line)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if strings.HasPrefix(p, "!") {
			t.Fatalf(".dockerignore: %q: this test does not handle exceptions", p)
		}
		p = regexp.QuoteMeta(strings.TrimPrefix(p, "/"))
		p = strings.ReplaceAll(p, `\*\*/`, `(.*/)?`)
		p = strings.ReplaceAll(p, `\*`, `[^/]*`)
		res = append(res, regexp.MustCompile("^"+p+"(/.*)?$"))
	}
	return func(path string) bool {
		return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(path) })
	}
}

// unit is a systemd unit file: section, then key, then every value.
type unit map[string]map[string][]string

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u, sec := unit{}, ""
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			sec = strings.Trim(line, "[]")
			u[sec] = map[string][]string{}
		default:
			k, v, _ := strings.Cut(line, "=")
			u[sec][k] = append(u[sec][k], v)
		}
	}
	return u
}

func TestSystemdUnit(t *testing.T) {
	svc := readUnit(t, "../../deploy/rackboot.service")["Service"]
	one := func(k string) string { return strings.Join(svc[k], " | ") }
	start := strings.Fields(one("ExecStart"))
	if len(start) < 2 || start[0] != "/usr/local/bin/rackboot" {
		t.Fatalf("ExecStart=%s: want /usr/local/bin/rackboot serve ...", one("ExecStart"))
	}
	caps := strings.Fields(one("AmbientCapabilities"))
	slices.Sort(caps)
	got := packaging{Caps: caps, DataDir: one("ReadWritePaths"), ConfigFile: serveConfig(t, start[1:])}
	want := wantPackaging(t)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(packaging{}, "User", "Ports")); diff != "" {
		t.Errorf("rackboot.service disagrees with serve's defaults (-want +got):\n%s", diff)
	}

	var s serveSettings
	newServeFlags(&s)
	var state []string
	for _, d := range strings.Fields(one("StateDirectory")) {
		state = append(state, "/var/lib/"+d)
	}
	if diff := cmp.Diff([]string{s.DataDir, s.AssetsDir}, state); diff != "" {
		t.Errorf("StateDirectory= makes other folders than data-dir and assets-dir (-want +got):\n%s", diff)
	}
	tests := []struct{ key, got, want string }{
		{"Type", one("Type"), "exec"},
		{"User", one("User"), "rackboot"},
		{"ExecReload", one("ExecReload"), "/bin/kill -HUP $MAINPID"},
		{"CapabilityBoundingSet", one("CapabilityBoundingSet"), one("AmbientCapabilities")},
		{"NoNewPrivileges", one("NoNewPrivileges"), "yes"},
		{"ProtectSystem", one("ProtectSystem"), "strict"},
		// Capabilities in a user namespace of its own cannot bind the
		// host's ports.
		{"PrivateUsers", one("PrivateUsers"), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.key, tt.got, tt.want)
		}
	}
}

// TestSystemdAnalyze runs systemd's own checks on the unit: verify
// (syntax, keys, values) and the offline security review, which must
// find the unit's exposure at most 2.0 of 10.
func TestSystemdAnalyze(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("skipping: systemd-analyze (package systemd) is not installed")
	}
	data, err := os.ReadFile("../../deploy/rackboot.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify wants ExecStart's program to exist; any executable will do.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rackboot.service")
	writeFile(t, path, strings.ReplaceAll(string(data), "/usr/local/bin/rackboot", self))
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command("systemd-analyze", "security", "--offline=yes", "--threshold=20",
		"--no-pager", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0 or failure: %v\n%s", err, out)
	}
}

// saDir is where Kubernetes mounts a pod's service account credentials.
const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func readManifest(t *testing.T, name string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../deploy/kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestKubernetesPackaging runs serve's settings parsing on the
// Deployment's arguments and the ConfigMap's files, as mounted.
func TestKubernetesPackaging(t *testing.T) {
	var cm corev1.ConfigMap
	var dep appsv1.Deployment
	readManifest(t, "20-config.yaml", &cm)
	readManifest(t, "40-deployment.yaml", &dep)
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 || pod.SecurityContext == nil ||
		pod.Containers[0].SecurityContext == nil || pod.Containers[0].SecurityContext.Capabilities == nil {
		t.Fatal("want one container, and security contexts with capabilities")
	}
	c := pod.Containers[0]
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}

	cfg := serveConfig(t, c.Args)
	dir := t.TempDir()
	for k, v := range cm.Data {
		writeFile(t, filepath.Join(dir, k), v)
	}
	args := slices.Clone(c.Args[1:])
	args[slices.Index(args, "--config")+1] = filepath.Join(dir, filepath.Base(cfg))
	var s serveSettings
	if err := parseSettings(newServeFlags(&s), args, func(string) string { return "" }); err != nil {
		t.Fatalf("settings of the ConfigMap: %v", err)
	}
	for _, f := range []string{cfg, s.Inventory, s.Kubeconfig} {
		if filepath.Dir(f) != mounts["config"] || cm.Data[filepath.Base(f)] == "" {
			t.Errorf("%s is not a file of the ConfigMap mounted at %s", f, mounts["config"])
		}
	}
	if _, err := inventory.LoadCatalog(filepath.Join(dir, filepath.Base(s.Inventory))); err != nil {
		t.Errorf("inventory of the ConfigMap: %v", err)
	}
	checkKubeconfig(t, cm.Data[filepath.Base(s.Kubeconfig)])
	if s.DataDir != mounts["data"] || filepath.Dir(s.AssetsDir) != s.DataDir {
		t.Errorf("data-dir %s, assets-dir %s: want both on the volume at %s", s.DataDir, s.AssetsDir, mounts["data"])
	}

	sc := pod.SecurityContext
	got := packaging{User: fmt.Sprintf("%d:%d", *sc.RunAsUser, *sc.RunAsGroup), DataDir: s.DataDir, ConfigFile: cfg}
	for _, a := range c.SecurityContext.Capabilities.Add {
		got.Caps = append(got.Caps, "CAP_"+string(a))
	}
	for _, p := range c.Ports {
		got.Ports = append(got.Ports, fmt.Sprintf("%d/%s", p.ContainerPort, strings.ToLower(string(p.Protocol))))
	}
	slices.Sort(got.Ports)
	if diff := cmp.Diff(wantPackaging(t), got); diff != "" {
		t.Errorf("the Deployment disagrees with serve's defaults (-want +got):\n%s", diff)
	}
	checkPod(t, &dep, "1", "Recreate")
}

// checkPod checks what the pod needs beyond rackboot's settings, and the
// Deployment's replicas and strategy.
func checkPod(t *testing.T, dep *appsv1.Deployment, replicas, strategy string) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	probe := func(p *corev1.Probe) string {
		g := p.HTTPGet
		return fmt.Sprintf("%s %s %s", g.Scheme, g.Port.String(), g.Path)
	}
	tests := []struct{ name, got, want string }{
		{"replicas", fmt.Sprint(*dep.Spec.Replicas), replicas},
		{"strategy", string(dep.Spec.Strategy.Type), strategy},
		{"hostNetwork", fmt.Sprint(pod.HostNetwork), "true"},
		{"dnsPolicy", string(pod.DNSPolicy), "ClusterFirstWithHostNet"},
		{"serviceAccountName", pod.ServiceAccountName, "rackboot"},
		{"capabilities.drop", fmt.Sprint(c.SecurityContext.Capabilities.Drop), "[ALL]"},
		{"startupProbe", probe(c.StartupProbe), "HTTPS admin /healthz"},
		{"livenessProbe", probe(c.LivenessProbe), "HTTPS admin /healthz"},
		{"readinessProbe", probe(c.ReadinessProbe), "HTTPS admin /readyz"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if _, tag, _ := strings.Cut(c.Image, ":"); tag == "" || tag == "latest" {
		t.Errorf("image %s: want a pinned tag", c.Image)
	}
}

// checkKubeconfig loads the ConfigMap's kubeconfig the way serve does,
// with the service account's files where the test put them.
func checkKubeconfig(t *testing.T, text string) {
	t.Helper()
	if n := strings.Count(text, saDir+"/"); n != 2 {
		t.Fatalf("kubeconfig names %s %d times, want 2 (token and CA):\n%s", saDir, n, text)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ca.crt"), "not read until a client connects")
	writeFile(t, filepath.Join(dir, "token"), "t")
	path := filepath.Join(dir, "kubeconfig")
	writeFile(t, path, strings.ReplaceAll(text, saDir, dir))
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("kubeconfig of the ConfigMap: %v", err)
	}
	got := []string{rc.Host, rc.BearerTokenFile, rc.CAFile}
	want := []string{"https://kubernetes.default.svc", filepath.Join(dir, "token"), filepath.Join(dir, "ca.crt")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kubeconfig server, token file, CA file (-want +got):\n%s", diff)
	}
}

// TestImageCapabilities runs the binary as the image does: built the
// Dockerfile's way, as user 65532 with the Dockerfile's file capabilities
// and a bounding set of just those (docker run --cap-drop ALL --cap-add
// ...), in a network namespace of its own. Its DHCP must hand a real
// client a lease. Without the file capabilities it must fail to bind; so
// must it under no_new_privs when the runtime leaves the permitted set
// empty (Docker, for a non-root user), and not when the runtime fills it
// (containerd, CRI-O).
func TestImageCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: network namespaces and setcap need root")
	}
	for _, tool := range []string{"ip", "setcap", "capsh", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (iproute2, libcap2-bin, busybox)", tool)
		}
	}
	caps := dockerfileCaps(t)
	bin := buildLikeDockerfile(t)
	ns := capNetns(t)
	tests := []struct {
		name      string
		fileCaps  string
		keep, nnp bool
		wantLease bool
	}{
		{"image", caps, false, false, true},
		{"no file capabilities", "", false, false, false},
		{"no_new_privs, permitted set filled", caps, true, true, true},
		{"no_new_privs, permitted set empty", caps, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("ip", "netns", "exec", ns, "capsh")
			cmd.Args = append(cmd.Args, launchArgs(t, caps, tt.keep, tt.nnp)...)
			cmd.Args = append(cmd.Args, "--shell="+withCaps(t, bin, tt.fileCaps), "--",
				"serve", "--config", capSettings(t))
			log, serving := runUntilServing(t, cmd)
			if !tt.wantLease {
				if serving || !bindDenied.MatchString(log) {
					t.Errorf("rackboot started without its capabilities; log:\n%s", log)
				}
				return
			}
			if !serving {
				t.Fatalf("rackboot stopped before serving; log:\n%s", log)
			}
			out, err := exec.Command("ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "rbcap1",
				"-n", "-q", "-f", "-t", "3", "-T", "2", "-s", "/bin/true").CombinedOutput()
			if want := "lease of 192.0.2.100 obtained"; err != nil || !strings.Contains(string(out), want) {
				t.Errorf("udhcpc: %v, want %q:\n%s", err, want, out)
			}
		})
	}
}

// bindDenied is how DHCP (binding port 67) or TFTP (bind) say that a
// privileged port was refused.
var bindDenied = regexp.MustCompile(`(binding port 67|:69: bind): permission denied`)

// dockerfileCaps returns the setcap text of the Dockerfile's CAPS.
func dockerfileCaps(t *testing.T) string {
	for _, in := range readDockerfile(t) {
		if v, ok := strings.CutPrefix(in.args, "CAPS="); ok && in.cmd == "ARG" {
			return v
		}
	}
	t.Fatal("Dockerfile has no ARG CAPS")
	return ""
}

// launchArgs are capsh's steps to become user 65532 with a bounding set
// of only the capabilities in caps, keeping them permitted if keep.
func launchArgs(t *testing.T, caps string, keep, nnp bool) []string {
	out, err := exec.Command("capsh", "--print").Output()
	if err != nil {
		t.Fatalf("capsh --print: %v", err)
	}
	names, _, _ := strings.Cut(caps, "=")
	var drop []string
	for line := range strings.Lines(string(out)) {
		if all, ok := strings.CutPrefix(strings.TrimSpace(line), "Bounding set ="); ok {
			for c := range strings.SplitSeq(all, ",") {
				if !slices.Contains(strings.Split(names, ","), c) {
					drop = append(drop, c)
				}
			}
		}
	}
	args := []string{"--drop=" + strings.Join(drop, ",")}
	if keep {
		args = append(args, "--keep=1")
	}
	args = append(args, "--gid=65532", "--groups=65532", "--uid=65532")
	if keep {
		args = append(args, "--caps="+names+"=p")
	}
	if nnp {
		args = append(args, "--no-new-privs")
	}
	return args
}

// buildLikeDockerfile builds cmd/rackboot with the Dockerfile's flags
// into a folder user 65532 may read.
func buildLikeDockerfile(t *testing.T) string {
	dir := sharedTempDir(t)
	bin := filepath.Join(dir, "rackboot")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sharedTempDir is a temporary folder other users may enter.
func sharedTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "rackboot-caps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// withCaps copies bin and gives the copy the file capabilities text.
func withCaps(t *testing.T, bin, text string) string {
	dst := filepath.Join(sharedTempDir(t), "rackboot")
	if out, err := exec.Command("cp", bin, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if text == "" {
		return dst
	}
	if out, err := exec.Command("setcap", text, dst).CombinedOutput(); err != nil {
		t.Fatalf("setcap %s: %v\n%s", text, err, out)
	}
	return dst
}

// capNetns makes a namespace with the veth pair rbcap0 (rackboot,
// 192.0.2.10/24) and rbcap1 (the DHCP client), deleted after the test.
func capNetns(t *testing.T) string {
	ns := fmt.Sprintf("rbcap-%d-%06d", os.Getpid(), rand.IntN(1e6))
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "add", "rbcap0", "type", "veth", "peer", "name", "rbcap1")
	ip("-n", ns, "addr", "add", "192.0.2.10/24", "dev", "rbcap0")
	for _, l := range []string{"lo", "rbcap0", "rbcap1"} {
		ip("-n", ns, "link", "set", l, "up")
	}
	return ns
}

// capSettings writes an authoritative settings file on rbcap0 with an
// empty inventory and a data folder owned by 65532, as the image has.
func capSettings(t *testing.T) string {
	dir := sharedTempDir(t)
	data := filepath.Join(dir, "data")
	for _, d := range []string{data, filepath.Join(data, "assets")} {
		if err := os.Mkdir(d, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	inv := filepath.Join(dir, "inventory.yaml")
	writeFile(t, inv, "profiles: []\nmachines: []\n")
	path := filepath.Join(dir, "rackboot.yaml")
	writeFile(t, path, fmt.Sprintf(`interface: rbcap0
mode: authoritative
subnet: 192.0.2.0/24
pool-start: 192.0.2.100
pool-end: 192.0.2.110
inventory: %s/inventory.yaml
data-dir: %s
assets-dir: %s/assets
`, dir, data, data))
	for _, f := range []string{inv, path} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// runUntilServing starts cmd and returns its log once DHCP, TFTP and
// HTTP all serve (and true), or once it exited. It stops cmd when the
// test ends.
func runUntilServing(t *testing.T, cmd *exec.Cmd) (string, bool) {
	var log testlog.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		<-done
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		if l := log.String(); strings.Contains(l, "dhcp serving") &&
			strings.Contains(l, "tftp listening") && strings.Contains(l, "http serving") {
			return l, true
		}
		select {
		case err := <-done:
			done <- err
			return log.String(), false
		case <-ctx.Done():
			t.Fatalf("rackboot neither served nor stopped; log:\n%s", log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
