package kubestore

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/rackboot/rackboot/inventory"
)

// Controller is the reportingController of rackboot's Kubernetes Events.
const Controller = "rackboot.io/rackboot"

// warnings are the kinds whose Events are of type Warning: something
// failed or a machine degraded.
var warnings = map[inventory.EventKind]bool{
	inventory.EventError: true, inventory.EventIgnitionRefused: true,
	inventory.EventProvisionFailed: true, inventory.EventStalled: true,
	inventory.EventNodeNotReady: true, inventory.EventNodeMismatch: true,
	inventory.EventCSRDenied: true, inventory.EventDHCPNak: true,
}

// eventRecorder turns timeline events of declared machines into core/v1
// Events on their Machines, through client-go's broadcaster, which
// aggregates repeats and retries while the API server is away.
type eventRecorder struct {
	core      kubernetes.Interface
	ns        string
	broadcast record.EventBroadcaster
	rec       record.EventRecorder
}

func newEventRecorder(core kubernetes.Interface, ns, replica string) *eventRecorder {
	b := record.NewBroadcaster(record.WithCorrelatorOptions(record.CorrelatorOptions{
		// A booting machine makes dozens of events a minute; the
		// default spam filter (25, then one per 5 minutes) would drop
		// them.
		QPS: 50, BurstSize: 500, MaxEvents: 100,
	}))
	rec := b.NewRecorder(scheme, corev1.EventSource{Component: Controller, Host: replica})
	return &eventRecorder{core: core, ns: ns, broadcast: b, rec: rec}
}

// start sends the Events to the API server.
func (r *eventRecorder) start() {
	r.broadcast.StartRecordingToSink(&typedcorev1.EventSinkImpl{
		Interface: r.core.CoreV1().Events(r.ns)})
}

// stop stops sending Events; those not sent yet are dropped.
func (r *eventRecorder) stop() { r.broadcast.Shutdown() }

// emit makes e an Event on the Machine called name, if the cache has it.
func (r *eventRecorder) emit(s *Store, name string, e inventory.Event) {
	m, ok := s.cachedMachine(name)
	if !ok {
		return
	}
	typ := corev1.EventTypeNormal
	if warnings[e.Kind] {
		typ = corev1.EventTypeWarning
	}
	note := e.Detail
	if note == "" {
		note = string(e.Kind)
	}
	r.rec.Event(m, typ, Reason(e.Kind), note)
}

// Reason returns the Event reason of kind k: its words in CamelCase, as
// "DhcpAck" for dhcp-ack.
func Reason(k inventory.EventKind) string {
	var b strings.Builder
	for w := range strings.SplitSeq(string(k), "-") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
