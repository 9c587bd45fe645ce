package tracker

import (
	"fmt"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// diagnose says in plain words why the machine is stuck in p's stage.
func (t *Tracker) diagnose(v machineView, p *progress, o observation, now time.Time) string {
	waited := now.Sub(p.since).Round(time.Second)
	switch p.stage {
	case inventory.StateIgnitionServed:
		if len(o.strays) > 0 {
			return strayText(v.m.Name, o.strays[0])
		}
		return t.silentText(v.m, waited)
	case inventory.StateCSRPending:
		return csrText(v.m.Name, o.csr, waited, o.strays)
	case inventory.StateRegistered:
		return notReadyText(v.m.Name, o.node, waited)
	}
	return ""
}

// silentText explains a machine whose kubelet never asked for a
// certificate.
func (t *Tracker) silentText(m inventory.Machine, waited time.Duration) string {
	where := "the endpoint and CA in profile " + m.Profile
	if p, ok := t.inv.Catalog().Profile(m.Profile); ok && p.Ignition != nil {
		where = fmt.Sprintf("the endpoint (%s) and CA (%s) in profile %s",
			p.Ignition.APIServer, p.Ignition.ClusterCAFile, m.Profile)
	}
	return fmt.Sprintf("no client certificate request %s after Ignition was served: "+
		"the kubelet never reached the API server: check %s, and that the machine "+
		"installed and rebooted", waited, where)
}

// strayText explains a Node that claims machine name under another name.
func strayText(name string, s stray) string {
	var claim string
	switch s.how {
	case byProvider:
		claim = "providerID " + s.node.Spec.ProviderID
	default:
		claim = "address " + joinAddrs(internalIPs(s.node))
	}
	return fmt.Sprintf("Node %s claims this machine by %s but is named %s, not %s: "+
		"the kubelet registered under another node name and rackboot does not adopt it; "+
		"check the node name the kubelet runs with (--hostname-override) and delete "+
		"the stray Node", s.node.Name, claim, s.node.Name, name)
}

// csrText explains a client certificate request that led to no Node.
func csrText(name string, csr *certv1.CertificateSigningRequest, waited time.Duration,
	strays []stray) string {
	var text string
	switch {
	case csr == nil:
		text = fmt.Sprintf("the kubelet's client certificate request is gone and Node %s "+
			"has not registered in %s: check the kubelet's log on the machine", name, waited)
	case condOf(csr, certv1.CertificateDenied) != nil:
		c := condOf(csr, certv1.CertificateDenied)
		text = fmt.Sprintf("the kubelet's client certificate request %s was denied "+
			"(%s: %s)", csr.Name, c.Reason, c.Message)
	case condOf(csr, certv1.CertificateFailed) != nil:
		c := condOf(csr, certv1.CertificateFailed)
		text = fmt.Sprintf("signing the kubelet's client certificate request %s failed "+
			"(%s: %s)", csr.Name, c.Reason, c.Message)
	case condOf(csr, certv1.CertificateApproved) == nil:
		text = fmt.Sprintf("the kubelet's client certificate request %s has waited %s "+
			"without approval: check that kube-controller-manager runs the csrapproving "+
			"controller and that rackboot's bootstrap bindings exist "+
			"(rackboot:node-autoapprove-bootstrap)", csr.Name, waited)
	case len(csr.Status.Certificate) == 0:
		text = fmt.Sprintf("the kubelet's client certificate request %s was approved "+
			"but not signed: check kube-controller-manager's csrsigning controller "+
			"(--cluster-signing-cert-file, --cluster-signing-key-file)", csr.Name)
	default:
		text = fmt.Sprintf("the kubelet got its client certificate (%s) but Node %s "+
			"has not registered in %s: check the kubelet's log on the machine",
			csr.Name, name, waited)
	}
	if len(strays) > 0 {
		text += "; " + strayText(name, strays[0])
	}
	return text
}

// notReadyText explains a registered Node that is not Ready, with the
// Node's own condition messages.
func notReadyText(name string, n *corev1.Node, waited time.Duration) string {
	if n == nil {
		return fmt.Sprintf("Node %s was deleted before it turned Ready", name)
	}
	return fmt.Sprintf("Node %s registered %s ago but is not Ready: %s",
		n.Name, waited, conditionsText(n))
}

// conditionsText lists the Node's Ready condition and every other
// condition that reports a problem, with their reasons and messages.
func conditionsText(n *corev1.Node) string {
	ready := condition(n, corev1.NodeReady)
	if ready == nil {
		return "the kubelet has not reported a Ready condition yet"
	}
	parts := []string{condText(ready)}
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady && c.Status == corev1.ConditionTrue {
			parts = append(parts, condText(&c))
		}
	}
	return strings.Join(parts, "; ")
}

func condText(c *corev1.NodeCondition) string {
	s := fmt.Sprintf("%s=%s", c.Type, c.Status)
	if c.Reason != "" || c.Message != "" {
		s += fmt.Sprintf(" (%s: %s)", c.Reason, c.Message)
	}
	return s
}

// stageDetail is the timeline note of entering stage s.
func stageDetail(name string, s inventory.State, o observation) string {
	switch s {
	case inventory.StateCSRPending:
		if o.csr == nil {
			return "the kubelet's client certificate request was seen after the fact"
		}
		return fmt.Sprintf("client certificate request %s for system:node:%s from %s",
			o.csr.Name, name, o.csr.Spec.Username)
	case inventory.StateRegistered:
		return fmt.Sprintf("Node %s registered (providerID %q, InternalIP %s)",
			o.node.Name, o.node.Spec.ProviderID, joinAddrs(internalIPs(o.node)))
	case inventory.StateReady:
		return fmt.Sprintf("Node %s is Ready", o.node.Name)
	case inventory.StateDegraded:
		if o.node == nil {
			return fmt.Sprintf("Node %s was deleted", name)
		}
		return fmt.Sprintf("Node %s is not Ready: %s", o.node.Name, conditionsText(o.node))
	}
	return ""
}

// condOf returns csr's condition of type ct, or nil.
func condOf(csr *certv1.CertificateSigningRequest,
	ct certv1.RequestConditionType) *certv1.CertificateSigningRequestCondition {
	for i := range csr.Status.Conditions {
		if csr.Status.Conditions[i].Type == ct {
			return &csr.Status.Conditions[i]
		}
	}
	return nil
}

func joinAddrs[T fmt.Stringer](addrs []T) string {
	if len(addrs) == 0 {
		return "none"
	}
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
