package ui_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/rackboot/rackboot/auth"
	"github.com/rackboot/rackboot/bmc"
	"github.com/rackboot/rackboot/internal/redfishsim"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/web"
	"github.com/rackboot/rackboot/web/ui"
)

// Secrets the page must never carry.
const (
	bmcPassword    = "ui-Bmc-secret-7731"
	bootstrapToken = "abcdef.0123456789abcdef"
)

const (
	mac1 = "02:00:00:00:00:01"
	mac2 = "02:00:00:00:00:02"
)

// lab is the admin side of a real rackboot: inventory, BMC, auth, API and
// dashboard, served over TLS on 127.0.0.1.
type lab struct {
	inv    *inventory.Inventory
	sim    *redfishsim.Server
	srv    *httptest.Server
	token  string // an operator's
	viewer string // a viewer's

	// mu guards status, what GET /api/v1/status answers.
	mu     sync.Mutex
	status web.Status
}

// setStatus changes what GET /api/v1/status answers.
func (l *lab) setStatus(st web.Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status = st
}

func (l *lab) currentStatus() web.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func newLab(t *testing.T) *lab {
	t.Helper()
	sim := redfishsim.New(redfishsim.Config{User: "admin", Password: bmcPassword, Power: redfishsim.PowerOn})
	t.Cleanup(sim.Close)
	t.Setenv("RACKBOOT_TEST_UI_BMC", "admin:"+bmcPassword)
	l := &lab{inv: labInventory(t, sim), sim: sim,
		status: web.Status{Store: "embedded", Replica: "rb", Leader: "rb", Leading: true}}

	srv, err := web.NewServer(web.Config{Addr: "127.0.0.1:0", PublicURL: "http://192.0.2.10:8080",
		AssetsDir: t.TempDir()}, l.inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := bmc.New(bmc.Config{RootCAs: sim.CertPool(), Timeout: 10 * time.Second}, l.inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetBMC(ctl)
	srv.SetIgnition(joinConfig{}, l.inv)
	srv.SetIgnitionPreview(joinConfig{})

	l.token, err = auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if l.viewer, err = auth.NewToken(); err != nil {
		t.Fatal(err)
	}
	ring, err := auth.NewKeyring([]auth.Entry{{Name: "alice", Role: auth.Operator, Hash: auth.Hash(l.token)},
		{Name: "bob", Role: auth.Viewer, Hash: auth.Hash(l.viewer)}})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := auth.NewGuard(auth.Config{Keyring: ring})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := web.NewAdmin(srv, web.AdminConfig{Addr: "127.0.0.1:0", Guard: guard, UI: ui.Handler(),
		Status: l.currentStatus})

	if err != nil {
		t.Fatal(err)
	}
	l.srv = httptest.NewUnstartedServer(admin.Handler())
	l.srv.EnableHTTP2 = true
	l.srv.StartTLS()
	t.Cleanup(l.srv.Close)
	return l
}

// joinConfig renders an Ignition config that carries a bootstrap token
// the way rackboot's own does: inside the kubelet's bootstrap kubeconfig.
type joinConfig struct{}

func (joinConfig) Render(_ context.Context, m inventory.Machine, _ inventory.Profile, _ uint64) ([]byte, error) {
	kubeconfig := "users:\n- name: kubelet-bootstrap\n  user:\n    token: " + bootstrapToken + "\n"
	return json.Marshal(map[string]any{
		"ignition": map[string]string{"version": "3.3.0"},
		"storage": map[string]any{"files": []any{map[string]any{
			"path":     "/etc/kubernetes/bootstrap-kubelet.conf",
			"mode":     0o600,
			"contents": map[string]string{"source": "data:," + url.PathEscape(kubeconfig)},
		}}},
	})
}

// labInventory declares three machines; node1 has a Redfish BMC at sim.
func labInventory(t *testing.T, sim *redfishsim.Server) *inventory.Inventory {
	t.Helper()
	doc := fmt.Sprintf(`
profiles:
  - name: tiny
    kernel: tiny/vmlinuz
    ignition:
      os: flatcar
      kubernetesVersion: v1.34.2
      crioVersion: v1.34.1
      apiServer: https://10.99.0.2:6443
      clusterCAFile: /nonexistent/ca.crt
      clusterDNS: [10.96.0.10]
      kubelet: {asset: k8s/kubelet, sha512: %[5]s}
      crio: {asset: crio/crio.raw, sha512: %[5]s}
  - {name: worker, kernel: tiny/vmlinuz}
machines:
  - name: node1
    macs: [%[1]q]
    profile: tiny
    labels: {rack: r1}
    bmc: {address: %[3]s, port: %[4]d, protocol: redfish, credentials_env: RACKBOOT_TEST_UI_BMC}
  - name: node2
    macs: [%[2]q]
    profile: worker
    labels: {rack: r2}
  - name: node3
    macs: ["02:00:00:00:00:03"]
    profile: worker
`, mac1, mac2, sim.Host(), sim.Port(), strings.Repeat("ab", 64))
	cat, err := inventory.ParseCatalog([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	store, err := inventory.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	inv := inventory.New(cat, store)
	for _, mac := range []string{mac1, mac2} {
		record(t, inv, mac, inventory.Event{Kind: inventory.EventDHCPOffer, Detail: "arch=x64-efi file=ipxe.efi"})
	}
	return inv
}

func record(t *testing.T, inv *inventory.Inventory, mac string, e inventory.Event) {
	t.Helper()
	if _, err := inv.Record(mac, e); err != nil {
		t.Fatal(err)
	}
}

// chromiumPath finds Debian's chromium, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RACKBOOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install chromium; scripts/setup-debian.sh does)")
	return ""
}

// browser is one headless Chromium tab that trusts only its test
// server's certificate, with the page's uncaught exceptions collected.
type browser struct {
	ctx context.Context

	mu     sync.Mutex
	errors []string // guarded by mu
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	t.Helper()
	spki := sha256.Sum256(srv.Certificate().RawSubjectPublicKeyInfo)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("starting chromium: %v", err)
	}
	go b.collect(chromedp.Events(ctx, runtime.ExceptionThrown))
	b.do(t, "watching for policy violations", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: watchViolations})
		return err
	}))
	return b
}

// watchViolations runs before the page's own scripts and keeps every
// Content-Security-Policy violation the page commits.
const watchViolations = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
	(e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`

// checkClean fails t if the page threw or broke its own
// Content-Security-Policy.
func (b *browser) checkClean(t *testing.T) {
	t.Helper()
	if errs := b.pageErrors(); errs != "" {
		t.Errorf("the page threw:%s", errs)
	}
	if v := eval[[]string](t, b, `window.cspViolations || []`); len(v) != 0 {
		t.Errorf("the page broke its Content-Security-Policy: %q", v)
	}
}

func (b *browser) collect(events iter.Seq2[runtime.EventExceptionThrown, error]) {
	for ev, err := range events {
		if err != nil {
			return
		}
		b.mu.Lock()
		b.errors = append(b.errors, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		b.mu.Unlock()
	}
}

// do runs steps within 20 s.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v%s", what, err, b.pageErrors())
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluating %s: %v%s", expr, err, b.pageErrors())
	}
	return v
}

// waitFor polls a JavaScript expression until it is true. (chromedp.Poll
// builds its predicate with new Function, which the page's
// Content-Security-Policy rightly refuses.)
func (b *browser) waitFor(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s is not true after 15s (err %v)%s", what, expr, err, b.pageErrors())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) pageErrors() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) == 0 {
		return ""
	}
	return "\npage errors:\n" + strings.Join(b.errors, "\n")
}

// screenshot saves the viewport as a PNG in $RACKBOOT_ARTIFACTS, or in a
// temporary folder, and logs where.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("taking a screenshot: %v", err)
	}
	dir := os.Getenv("RACKBOOT_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// pressSlash types "/" as a keyboard does: one keyDown carrying its text,
// so that a handler that prevents the default types nothing.
// (chromedp.KeyEvent sends the text in a separate char event, which
// types it whatever the handler says.)
var pressSlash = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	key := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "/",
		Code: "Slash", Text: "/", UnmodifiedText: "/", WindowsVirtualKeyCode: 191, NativeVirtualKeyCode: 191}
	if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, key); err != nil {
		return err
	}
	key.Type, key.Text, key.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
	_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, key)
	return err
})

// rowState is the state shown in the inventory row of machine name.
func rowState(name string) string {
	return `document.querySelector('tr[data-key="` + name + `"] td.state')?.textContent`
}

func TestDashboardInABrowser(t *testing.T) {
	l := newLab(t)
	long := "ipxe: " + strings.Repeat("no route to the boot server ", 12)
	record(t, l.inv, "02:00:00:00:00:03", inventory.Event{Kind: inventory.EventError, Detail: long})
	b := newBrowser(t, l.srv)

	// Sign in with the token.
	b.do(t, "opening the dashboard",
		chromedp.Navigate(l.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), l.token),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
	)
	b.waitFor(t, "the machines", `document.querySelectorAll('#machines tr[data-key]').length === 3`)
	for _, name := range []string{"node1", "node2", "node3"} {
		if got := eval[string](t, b, rowState(name)); got == "" {
			t.Errorf("row %s has no state cell", name)
		}
	}
	if got := eval[string](t, b, `document.getElementById('whoami').textContent`); got != "alice (operator)" {
		t.Errorf("signed in as %q, want alice (operator)", got)
	}

	// A detail too long for its cell ends with an ellipsis; the cell's
	// title holds it all.
	cut := eval[map[string]any](t, b, `(() => {
		const td = document.querySelector('tr[data-key="node3"] td.last');
		const sub = td.querySelector('.sub');
		return {overflow: getComputedStyle(sub).textOverflow, cut: sub.scrollWidth > sub.clientWidth,
			title: td.title};
	})()`)
	if want := map[string]any{"overflow": "ellipsis", "cut": true, "title": "error: " + long}; !cmp.Equal(cut, want) {
		t.Errorf("node3's last-event cell (-got +want):\n%s", cmp.Diff(cut, want))
	}

	// A state change arrives live, without a reload.
	eval[int](t, b, `window.rackbootTestMark = 7`)
	b.waitFor(t, "the event stream", `document.getElementById('live').textContent === 'live'`)
	record(t, l.inv, mac2, inventory.Event{Kind: inventory.EventScriptServed, Detail: "tiny"})
	b.waitFor(t, "node2 to be booting", rowState("node2")+` === 'booting'`)
	if eval[int](t, b, `window.rackbootTestMark || 0`) != 7 {
		t.Error("the page reloaded to show the new state; want a live update")
	}
	b.screenshot(t, "dashboard-machines.png")

	// "/" focuses the search field; the server does the searching.
	b.do(t, "pressing /", pressSlash)
	if id := eval[string](t, b, `document.activeElement.id`); id != "q" {
		t.Errorf("after /, the focus is on #%s, want #q", id)
	}
	b.do(t, "typing a search", chromedp.KeyEvent("node1"))
	b.waitFor(t, "node1 alone", `document.querySelectorAll('#machines tr[data-key]').length === 1 && `+
		`document.querySelector('tr[data-key="node1"]')`)
	b.waitFor(t, "the summary", `document.getElementById('machines-summary').textContent === '1 machine matches'`)

	// Power cycle node1 from its page; the BMC event lands on its timeline.
	b.do(t, "opening node1",
		chromedp.Click(chromedp.CSS(`tr[data-key="node1"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-kind="dhcp-offer"]`)),
		chromedp.WaitEnabled(chromedp.CSS(`button[data-power="cycle"]`)),
		chromedp.Click(chromedp.CSS(`button[data-power="cycle"]`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm-yes")),
		chromedp.Click(chromedp.CSS("#confirm-yes")),
	)
	b.waitFor(t, "the bmc-power event", `document.querySelector('#timeline li[data-kind="bmc-power"]')`)
	detail := eval[string](t, b, `document.querySelector('#timeline li[data-kind="bmc-power"] .detail').textContent`)
	if !strings.Contains(detail, "cycle") || !strings.Contains(detail, "alice") {
		t.Errorf("bmc-power event detail = %q, want a cycle by alice", detail)
	}
	b.waitFor(t, "the result of the cycle", `document.getElementById('action-msg').classList.contains('ok')`)
	if got := eval[string](t, b, `document.activeElement.dataset.power || document.activeElement.id`); got != "cycle" {
		t.Errorf("after a confirmed cycle, the focus is on %q, want the Cycle button", got)
	}
	b.screenshot(t, "dashboard-machine.png")

	// Explain boot shows the script and the Ignition config, redacted.
	b.do(t, "explaining node1's boot",
		chromedp.Click(chromedp.CSS("#explain-btn")),
		chromedp.WaitVisible(chromedp.CSS("#x-script")),
	)
	if got := eval[string](t, b, `document.getElementById('x-script').textContent`); !strings.HasPrefix(got, "#!ipxe") {
		t.Errorf("explained script = %q, want an iPXE script", got)
	}
	if got := eval[string](t, b, `document.getElementById('x-ignition').textContent`); !strings.Contains(got, "bootstrap-kubelet.conf") ||
		!strings.Contains(got, "redacted") {
		t.Errorf("explained Ignition = %q, want the kubeconfig with its token redacted", got)
	}
	b.screenshot(t, "dashboard-explain.png")

	// No secret in the page: not in its HTML, its scripts' reach, nor its
	// storage.
	html := eval[string](t, b, `document.documentElement.outerHTML`)
	page := html + eval[string](t, b, `document.cookie + JSON.stringify(localStorage) + JSON.stringify(sessionStorage)`)
	for name, secret := range map[string]string{"API token": l.token, "BMC password": bmcPassword,
		"bootstrap token": bootstrapToken} {
		if strings.Contains(page, secret) {
			t.Errorf("the page carries the %s", name)
		}
	}
	if !strings.Contains(html, "node1") {
		t.Errorf("page HTML lacks node1; the secret check read the wrong page")
	}
	b.checkClean(t)
}

// TestDashboardSignInRefusals checks the messages of a bad token and of
// the rate limit.
func TestDashboardSignInRefusals(t *testing.T) {
	l := newLab(t)
	b := newBrowser(t, l.srv)
	b.do(t, "opening the dashboard", chromedp.Navigate(l.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	bad := "rbt_" + strings.Repeat("A", 43)
	for i := range 6 {
		b.do(t, "signing in with a bad token "+strconv.Itoa(i),
			chromedp.SendKeys(chromedp.CSS("#token"), bad),
			chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		)
		want := "not accepted"
		if i == 5 {
			want = "Too many failed sign-ins"
		}
		b.waitFor(t, want, `document.getElementById('login-msg').textContent.includes(`+strconv.Quote(want)+`)`)
		b.waitFor(t, "the form to come back", `!document.querySelector('#login-form button').disabled`)
		if v := eval[string](t, b, `document.getElementById('token').value`); v != "" {
			t.Errorf("token field after a refusal = %q, want it emptied", v)
		}
	}
	left := `parseInt(document.querySelector('#login-msg .left').textContent, 10)`
	wait := eval[int](t, b, left)
	if wait < 2 {
		t.Fatalf("Retry-After countdown starts at %d s; want a wait to count down", wait)
	}
	b.waitFor(t, "the countdown", left+` < `+strconv.Itoa(wait))
	b.checkClean(t)
}

// TestDashboardAcceptsADiscoveredMachine rejects a machine that asked to
// boot, takes the rejection back, then accepts it with a name and a
// profile.
func TestDashboardAcceptsADiscoveredMachine(t *testing.T) {
	const macNew = "02:00:00:00:00:99"
	l := newLab(t)
	record(t, l.inv, macNew, inventory.Event{Kind: inventory.EventDiscovered, Detail: "arch=x64-efi"})
	b := newBrowser(t, l.srv)
	row := `tr[data-mac="` + macNew + `"]`
	b.do(t, "opening the discovered machines",
		chromedp.Navigate(l.srv.URL+"/#/discovered"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), l.token),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	b.waitFor(t, "the discovered count", `document.getElementById('discovered-count').textContent === '1'`)

	b.do(t, "rejecting", chromedp.Click(chromedp.CSS(row+" button:not(.primary)")))
	b.waitFor(t, "the rejected badge", `document.querySelector('`+row+` .badge.rejected')`)
	b.waitFor(t, "the focus back on the row's button", `document.activeElement === document.querySelector('`+row+` button:not(.primary)')`)
	if !l.inv.Catalog().Rejected(macNew) {
		t.Errorf("after Reject, %s is not rejected", macNew)
	}
	b.do(t, "unrejecting", chromedp.Click(chromedp.CSS(row+" button:not(.primary)")))
	b.waitFor(t, "the badge to go", `document.querySelector('`+row+`') && !document.querySelector('`+row+` .badge.rejected')`)

	b.do(t, "accepting",
		chromedp.Click(chromedp.CSS(row+" button.primary")),
		chromedp.WaitVisible(chromedp.CSS("form.accept input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("form.accept input[name=name]"), "node9"),
	)
	if eval[bool](t, b, `document.querySelector('form.accept select').value !== '' || document.querySelector('form.accept').checkValidity()`) {
		t.Error("the accept form starts with a profile chosen, or submittable without one")
	}
	b.do(t, "accepting",
		chromedp.SetValue(chromedp.CSS("form.accept select[name=profile]"), "worker"),
		chromedp.SendKeys(chromedp.CSS("form.accept input[name=labels]"), "rack=r9"),
		chromedp.Click(chromedp.CSS("form.accept button[type=submit]")),
	)
	b.waitFor(t, "the machine to leave the list", `!document.querySelector('`+row+`')`)
	m, ok := l.inv.Catalog().Machine(macNew)
	if !ok || m.Name != "node9" || m.Profile != "worker" || m.Labels["rack"] != "r9" {
		t.Errorf("after Accept, %s is declared as %+v (%v), want node9, worker, rack=r9", macNew, m, ok)
	}
	b.waitFor(t, "the discovered count to go", `document.getElementById('discovered-count').textContent === ''`)
	b.waitFor(t, "the focus on the heading", `document.activeElement.id === 'discovered-title'`)
	b.do(t, "opening the machines", chromedp.Click(chromedp.CSS(`a[data-nav="machines"]`)))
	b.waitFor(t, "node9 in the inventory", `document.querySelector('tr[data-key="node9"]')`)

	// A machine that is not there offers no action.
	enabled := `[...document.querySelectorAll('.actions button')].filter((b) => !b.disabled && b.offsetParent).length`
	b.do(t, "opening a machine that does not exist", chromedp.Navigate(l.srv.URL+"/#/machine/nosuch"))
	b.waitFor(t, "the load error", `!document.getElementById('m-error').hidden`)
	if n := eval[int](t, b, enabled); n != 0 {
		t.Errorf("nosuch has %d enabled action buttons, want none", n)
	}

	// Nor does one deleted while its page is open, whose facts go.
	b.do(t, "opening node9", chromedp.Navigate(l.srv.URL+"/#/machine/node9"))
	b.waitFor(t, "node9's facts", `document.getElementById('m-facts').textContent.includes('worker') && `+enabled+` > 0`)
	if d := eval[string](t, b, `getComputedStyle(document.getElementById('m-power')).display`); d != "none" {
		t.Errorf("node9's empty power badge has display %q, want none", d)
	}
	if err := l.inv.DeleteMachine("node9"); err != nil {
		t.Fatal(err)
	}
	record(t, l.inv, macNew, inventory.Event{Kind: inventory.EventDHCPDiscover, Detail: "arch=x64-efi file=ipxe.efi"})
	b.waitFor(t, "the load error", `!document.getElementById('m-error').hidden`)
	b.waitFor(t, "node9's facts to go", `document.getElementById('m-facts').textContent === '' && `+enabled+` === 0`)
	b.waitFor(t, "the discovered count to come back", `document.getElementById('discovered-count').textContent === '1'`)
	b.checkClean(t)
}

// TestDashboardViewer checks that a viewer sees the machines but finds
// every button that changes something disabled, and can sign out.
func TestDashboardViewer(t *testing.T) {
	l := newLab(t)
	for i := range 60 { // more than a page of machines
		record(t, l.inv, fmt.Sprintf("02:00:00:00:01:%02x", i), inventory.Event{Kind: inventory.EventDiscovered})
	}
	b := newBrowser(t, l.srv)
	b.do(t, "signing in as a viewer",
		chromedp.Navigate(l.srv.URL+"/#/machine/node1"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), l.viewer+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-kind="dhcp-offer"]`)),
	)
	focus := `[document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle !== 'none']`
	if got := eval[[]any](t, b, focus); !cmp.Equal(got, []any{"machine-title", false}) {
		t.Errorf("after sign-in, focus [id, ring] = %v, want the heading without a ring", got)
	}
	enabled := eval[[]string](t, b, `[...document.querySelectorAll('[data-power], #reprovision')]`+
		`.filter((b) => !b.disabled).map((b) => b.textContent)`)
	if len(enabled) != 0 {
		t.Errorf("a viewer's enabled action buttons = %q, want none", enabled)
	}

	// A top-bar link used by keyboard moves the focus to the new heading.
	b.do(t, "following Machines by keyboard",
		chromedp.Focus(chromedp.CSS(`a[data-nav="machines"]`)),
		chromedp.KeyEvent("\r"),
	)
	b.waitFor(t, "the focus on the heading", `document.activeElement.id === 'machines-title'`)
	if got := eval[[]any](t, b, focus); !cmp.Equal(got, []any{"machines-title", true}) {
		t.Errorf("after a keyboard page change, focus [id, ring] = %v, want the heading with a ring", got)
	}
	b.waitFor(t, "a full page", `document.querySelectorAll('#machines tr[data-key]').length === 50`)

	// The next page shows from its top, the focus on its heading.
	b.do(t, "going to the next page",
		chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.body.scrollHeight)`),
		chromedp.Click(chromedp.CSS(`.pager button[aria-label="Next page"]`)),
	)
	b.waitFor(t, "the next page", `document.querySelectorAll('#machines tr[data-key]').length === 13`)
	if got := eval[[]any](t, b, `[document.activeElement.id, window.scrollY]`); !cmp.Equal(got, []any{"machines-title", 0.0}) {
		t.Errorf("after Next, [focus, scrollY] = %v, want the heading at the top", got)
	}
	b.do(t, "signing out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.do(t, "reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.checkClean(t)
}

// With replicas on the Kubernetes store the top bar names the leader, and
// a banner says so while the store is degraded, until it is back.
func TestDashboardShowsTheStoreAndLeader(t *testing.T) {
	l := newLab(t)
	b := newBrowser(t, l.srv)
	b.do(t, "signing in as a viewer",
		chromedp.Navigate(l.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), l.viewer+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#machines")),
	)
	shown := `[document.getElementById('leader').hidden, document.getElementById('degraded').hidden]`
	if got := eval[[]any](t, b, shown); !cmp.Equal(got, []any{true, true}) {
		t.Errorf("embedded store: [leader hidden, banner hidden] = %v, want both hidden", got)
	}

	l.setStatus(web.Status{Store: "kubernetes", Replica: "rb-1", Leader: "rb-0"})
	b.waitFor(t, "the leader in the top bar", `!document.getElementById('leader').hidden && `+
		`document.getElementById('leader').textContent === 'Leader: rb-0'`)
	if !eval[bool](t, b, `document.getElementById('degraded').hidden`) {
		t.Error("a healthy store shows the degraded banner")
	}

	l.setStatus(web.Status{Store: "kubernetes", Replica: "rb-1", Leader: "rb-1", Leading: true,
		Degraded: true, Reason: "kubernetes api server unreachable"})
	b.waitFor(t, "the degraded banner", `!document.getElementById('degraded').hidden`)
	banner := eval[string](t, b, `document.getElementById('degraded').textContent`)
	if !strings.Contains(banner, "kubernetes api server unreachable") {
		t.Errorf("banner = %q, want the reason", banner)
	}
	if got := eval[string](t, b, `document.getElementById('leader').textContent`); got != "Leader: rb-1 (this replica)" {
		t.Errorf("top bar says %q, want Leader: rb-1 (this replica)", got)
	}
	b.screenshot(t, "dashboard-degraded.png")

	l.setStatus(web.Status{Store: "kubernetes", Replica: "rb-1", Leader: "rb-1", Leading: true})
	b.waitFor(t, "the banner to go", `document.getElementById('degraded').hidden`)

	// rb-1 lost its term and no other replica leads yet.
	l.setStatus(web.Status{Store: "kubernetes", Replica: "rb-1"})
	b.waitFor(t, "no leader in the top bar", `document.getElementById('leader').textContent === 'Leader: none'`)
}
