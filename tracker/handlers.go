package tracker

import (
	"context"
	"strings"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Names of the informers' indexes.
const (
	indexProviderID = "providerID" // Node -> machine named by its rackboot providerID
	indexIP         = "ip"         // Node -> each InternalIP
	indexNode       = "node"       // client CSR -> node name it asks for
)

// The indexes of the Node and CSR caches.
var (
	nodeIndexers = cache.Indexers{indexProviderID: byProviderID, indexIP: byInternalIP}
	csrIndexers  = cache.Indexers{indexNode: byNodeName}
)

// ProviderIDPrefix starts the providerID of every Node rackboot renders:
// rackboot://<machine name>.
const ProviderIDPrefix = "rackboot://"

// watch adds the indexes, event handlers and watch error handlers to the
// informers.
func (t *Tracker) watch(nodes, csrs cache.SharedIndexInformer) error {
	err := nodes.AddIndexers(nodeIndexers)
	if err == nil {
		err = csrs.AddIndexers(csrIndexers)
	}
	if err == nil {
		_, err = nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    t.nodeChanged,
			UpdateFunc: t.nodeUpdated,
			DeleteFunc: t.nodeDeleted,
		})
	}
	if err == nil {
		_, err = csrs.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    t.csrChanged,
			UpdateFunc: func(_, cur any) { t.csrChanged(cur) },
			DeleteFunc: t.csrDeleted,
		})
	}
	if err == nil {
		err = nodes.SetWatchErrorHandlerWithContext(t.watchFailed("nodes"))
	}
	if err == nil {
		err = csrs.SetWatchErrorHandlerWithContext(t.watchFailed("certificatesigningrequests"))
	}
	return err
}

// watchFailed logs a failed list or watch; the reflector retries on its
// own with exponential backoff (800 ms doubling to 30 s, with jitter).
func (t *Tracker) watchFailed(what string) cache.WatchErrorHandlerWithContext {
	return func(_ context.Context, _ *cache.Reflector, err error) {
		t.log.Warn("tracker watch failed; retrying with backoff", "path", what, "err", err)
	}
}

// nodeChanged queues the machine a Node belongs to, or remembers the Node
// as unknown and logs it once.
func (t *Tracker) nodeChanged(obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	owner := t.queueOwner(n)
	t.mu.Lock()
	logIt := owner == "" && !t.unknown[n.Name]
	if owner == "" {
		t.unknown[n.Name] = true
	} else {
		delete(t.unknown, n.Name)
	}
	t.mu.Unlock()
	if logIt {
		t.log.Info("node matches no machine", "node", n.Name,
			"provider_id", n.Spec.ProviderID, "ip", internalIPs(n))
	}
}

// nodeUpdated queues the machine the Node belonged to before the change
// too: a changed address or providerID may move it to another machine.
func (t *Tracker) nodeUpdated(old, cur any) {
	if n, ok := old.(*corev1.Node); ok {
		t.queueOwner(n)
	}
	t.nodeChanged(cur)
}

func (t *Tracker) nodeDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	t.mu.Lock()
	delete(t.unknown, n.Name)
	t.mu.Unlock()
	t.queueOwner(n)
}

// queueOwner queues the machine n belongs to and returns its name, or ""
// when n matches no machine.
func (t *Tracker) queueOwner(n *corev1.Node) string {
	owner, how := t.owner(n)
	if owner != "" {
		t.log.Debug("node event", "node", n.Name, "machine", owner, "by", string(how))
		t.queue.Add(machineKey(owner))
	}
	return owner
}

// csrChanged queues a kubelet serving CSR for review, and the machine a
// kubelet client CSR asks a certificate for.
func (t *Tracker) csrChanged(obj any) {
	csr, ok := obj.(*certv1.CertificateSigningRequest)
	if !ok {
		return
	}
	switch csr.Spec.SignerName {
	case certv1.KubeletServingSignerName:
		if !decided(csr) {
			t.queue.Add(csrKey(csr.Name))
		}
	case certv1.KubeAPIServerClientKubeletSignerName:
		t.clientCSR(csr)
	}
}

// clientCSR queues the machine a kubelet client CSR names; one that names
// no machine is logged once.
func (t *Tracker) clientCSR(csr *certv1.CertificateSigningRequest) {
	name, ok := nodeOfRequest(csr)
	if !ok {
		return
	}
	if _, declared := machineByName(t.inv.Catalog(), name); declared {
		t.queue.Add(machineKey(name))
		return
	}
	t.mu.Lock()
	seen := t.left[csr.Name]
	t.left[csr.Name] = true
	t.mu.Unlock()
	if !seen {
		t.log.Info("kubelet client csr names no machine", "csr", csr.Name,
			"node", name, "requester", csr.Spec.Username)
	}
}

func (t *Tracker) csrDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if csr, ok := obj.(*certv1.CertificateSigningRequest); ok {
		t.mu.Lock()
		delete(t.left, csr.Name)
		t.mu.Unlock()
	}
}

// byProviderID indexes a Node under the machine its providerID names.
func byProviderID(obj any) ([]string, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return nil, nil
	}
	if name, ok := strings.CutPrefix(n.Spec.ProviderID, ProviderIDPrefix); ok && name != "" {
		return []string{name}, nil
	}
	return nil, nil
}

// byInternalIP indexes a Node under each of its InternalIPs.
func byInternalIP(obj any) ([]string, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, ip := range internalIPs(n) {
		out = append(out, ip.String())
	}
	return out, nil
}

// byNodeName indexes a kubelet client CSR under the node name it asks a
// certificate for.
func byNodeName(obj any) ([]string, error) {
	csr, ok := obj.(*certv1.CertificateSigningRequest)
	if !ok || csr.Spec.SignerName != certv1.KubeAPIServerClientKubeletSignerName {
		return nil, nil
	}
	if name, ok := nodeOfRequest(csr); ok {
		return []string{name}, nil
	}
	return nil, nil
}
