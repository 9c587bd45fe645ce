package tracker

import (
	"strings"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestCSRText(t *testing.T) {
	csr := func(conds []certv1.RequestConditionType, cert string) *certv1.CertificateSigningRequest {
		c := &certv1.CertificateSigningRequest{}
		c.Name = "node-csr-x"
		for _, ct := range conds {
			c.Status.Conditions = append(c.Status.Conditions, certv1.CertificateSigningRequestCondition{
				Type: ct, Reason: "SomeReason", Message: "some message"})
		}
		c.Status.Certificate = []byte(cert)
		return c
	}
	approved := []certv1.RequestConditionType{certv1.CertificateApproved}
	tests := []struct {
		name string
		csr  *certv1.CertificateSigningRequest
		want string
	}{
		{"gone", nil, "request is gone and Node n1 has not registered in 5m0s"},
		{"pending", csr(nil, ""), "node-csr-x has waited 5m0s without approval: check that " +
			"kube-controller-manager runs the csrapproving controller"},
		{"denied", csr([]certv1.RequestConditionType{certv1.CertificateDenied}, ""),
			"node-csr-x was denied (SomeReason: some message)"},
		{"failed", csr(append(approved, certv1.CertificateFailed), ""),
			"signing the kubelet's client certificate request node-csr-x failed (SomeReason: some message)"},
		{"unsigned", csr(approved, ""), "approved but not signed: check kube-controller-manager's csrsigning"},
		{"signed", csr(approved, "PEM"), "got its client certificate (node-csr-x) but Node n1 has not registered in 5m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := csrText("n1", tt.csr, 5*time.Minute, nil); !strings.Contains(got, tt.want) {
				t.Errorf("csrText = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestConditionsText(t *testing.T) {
	n := &corev1.Node{}
	if got, want := conditionsText(n), "the kubelet has not reported a Ready condition yet"; got != want {
		t.Errorf("conditionsText(no conditions) = %q, want %q", got, want)
	}
	n.Status.Conditions = []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasDiskPressure",
			Message: "kubelet has disk pressure"},
		{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady",
			Message: "container runtime is down"},
	}
	want := "Ready=False (KubeletNotReady: container runtime is down); " +
		"DiskPressure=True (KubeletHasDiskPressure: kubelet has disk pressure)"
	if got := conditionsText(n); got != want {
		t.Errorf("conditionsText = %q, want %q", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	b := newBench(t)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no client", Config{}, "client: missing"},
		{"negative deadline", Config{Client: b.cs, Deadlines: Deadlines{Ready: -time.Second}},
			"deadlines.ready: -1s is negative"},
		{"negative rescan", Config{Client: b.cs, Rescan: -1}, "rescan: -1ns is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, b.inv, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want %q", err, tt.want)
			}
		})
	}
	tr, err := New(Config{Client: b.cs}, b.inv, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Deadlines{Kubelet: DefaultKubeletDeadline, Approval: DefaultApprovalDeadline, Ready: DefaultReadyDeadline}
	if tr.deadlines != want || tr.resync != DefaultResync || tr.rescan != DefaultRescan ||
		tr.drainFor != DefaultDrainTimeout {
		t.Errorf("New(zero config) = deadlines %+v, resync %v, rescan %v, drain %v, want the defaults",
			tr.deadlines, tr.resync, tr.rescan, tr.drainFor)
	}
}

func TestDrainedBefore(t *testing.T) {
	served := time.Date(2026, 12, 1, 10, 0, 0, 500e6, time.UTC)
	tests := []struct {
		mark string
		want bool
	}{
		{"2026-12-01T09:59:00Z", true},
		{"2026-12-01T10:00:00.4Z", true},
		{"2026-12-01T10:00:00.6Z", false},
		{"", false},
		{"yes", false},
	}
	for _, tt := range tests {
		if got := drainedBefore(tt.mark, served); got != tt.want {
			t.Errorf("drainedBefore(%q, %v) = %v, want %v", tt.mark, served, got, tt.want)
		}
	}
}
