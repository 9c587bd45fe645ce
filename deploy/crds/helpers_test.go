package crds_test

import "k8s.io/apimachinery/pkg/runtime/schema"

var crdResource = schema.GroupVersionResource{
	Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
