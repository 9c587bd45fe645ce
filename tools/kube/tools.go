//go:build tools

// Package kube pins the Kubernetes and etcd modules that build.sh compiles
// into a real control plane for rackboot's integration tests. It is a
// separate module so that Kubernetes' dependency versions never reach
// rackboot's own go.mod.
package kube

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
