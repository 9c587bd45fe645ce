package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestKubernetesReplicasPackaging runs serve's settings parsing on the
// replicas' Deployment and ConfigMap, with the environment the pod gets
// from the downward API: every replica resolves to the Kubernetes store
// in its namespace, named after its pod, with a leader election.
func TestKubernetesReplicasPackaging(t *testing.T) {
	var cm corev1.ConfigMap
	var dep appsv1.Deployment
	readManifest(t, "replicas/20-config.yaml", &cm)
	readManifest(t, "replicas/40-deployment.yaml", &dep)
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := podEnv(t, c.Env, map[string]string{"metadata.name": "rackboot-7d9f-x2k4q",
		"metadata.namespace": "rackboot"})

	dir := t.TempDir()
	for k, v := range cm.Data {
		writeFile(t, filepath.Join(dir, k), v)
	}
	cfg := serveConfig(t, c.Args)
	args := slices.Clone(c.Args[1:])
	args[slices.Index(args, "--config")+1] = filepath.Join(dir, filepath.Base(cfg))
	var s serveSettings
	getenv := func(k string) string { return env[k] }
	if err := parseSettings(newServeFlags(&s), args, getenv); err != nil {
		t.Fatalf("settings of the ConfigMap: %v", err)
	}
	host := func() (string, error) { return "", fmt.Errorf("no host name in a test") }
	if err := s.Store.resolve(getenv, host); err != nil {
		t.Fatalf("store settings of the ConfigMap: %v", err)
	}
	got := []string{s.Store.Backend, s.Store.Namespace, s.Store.ReplicaID, s.Store.Kubeconfig,
		fmt.Sprint(s.Store.LeaderElect)}
	want := []string{"kubernetes", "rackboot", "rackboot-7d9f-x2k4q", "", "true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("store, namespace, replica, store kubeconfig, election (-want +got):\n%s", diff)
	}
	if _, ok := cm.Data[filepath.Base(s.Inventory)]; ok {
		t.Errorf("the replicas' ConfigMap ships %s; Machine and Profile resources declare instead",
			filepath.Base(s.Inventory))
	}
	checkKubeconfig(t, cm.Data[filepath.Base(s.Kubeconfig)])
	checkPod(t, &dep, "2", "RollingUpdate")
	checkSpread(t, &dep)
}

// podEnv resolves the container's plain and downward-API variables.
func podEnv(t *testing.T, vars []corev1.EnvVar, fields map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range vars {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil:
			v, ok := fields[e.ValueFrom.FieldRef.FieldPath]
			if !ok {
				t.Errorf("env %s: field %s is not one the test knows", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			env[e.Name] = v
		}
	}
	return env
}

// checkSpread checks that no two replicas share a node, whose ports a
// hostNetwork pod holds, and that an update never needs a third node.
func checkSpread(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	a := dep.Spec.Template.Spec.Affinity
	if a == nil || a.PodAntiAffinity == nil ||
		len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatal("want one required pod anti-affinity term")
	}
	term := a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
	labels := dep.Spec.Template.Labels
	for k, v := range term.LabelSelector.MatchLabels {
		if labels[k] != v {
			t.Errorf("anti-affinity selects %s=%s, which the pods do not carry (%v)", k, v, labels)
		}
	}
	if term.TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("anti-affinity topology %q, want kubernetes.io/hostname", term.TopologyKey)
	}
	ru := dep.Spec.Strategy.RollingUpdate
	if ru == nil || ru.MaxSurge == nil || ru.MaxSurge.String() != "0" {
		t.Errorf("rolling update %+v: want maxSurge 0", ru)
	}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == "data" && (v.HostPath == nil || !strings.HasPrefix(v.HostPath.Path, "/var/lib/rackboot")) {
			t.Errorf("volume data = %+v, want the node's /var/lib/rackboot", v.VolumeSource)
		}
	}
}
