package crds

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the field manager Install applies as.
const FieldManager = "rackboot"

// DefaultTimeout is how long Install waits, by default, for each CRD to
// be Established.
const DefaultTimeout = time.Minute

var (
	crdVersion  = schema.GroupVersion{Group: "apiextensions.k8s.io", Version: "v1"}
	crdKind     = crdVersion.WithKind("CustomResourceDefinition")
	crdResource = crdVersion.WithResource("customresourcedefinitions")
)

// Action is what Install did to one CRD, in kubectl apply's words.
type Action string

// Actions of Install.
const (
	Created    Action = "created"    // the CRD did not exist
	Configured Action = "configured" // its spec, labels or annotations changed
	Unchanged  Action = "unchanged"  // it was as the manifest says
)

// Result is what Install did to one CRD.
type Result struct {
	// Name is the CRD's name, such as machines.rackboot.io.
	Name   string
	Action Action
	// Established is set when the API server serves the resource; never
	// in a dry run.
	Established bool
}

// Options adjusts Install. The zero value applies for real and waits
// DefaultTimeout.
type Options struct {
	// DryRun has the API server validate and answer each apply without
	// keeping it; Install then does not wait.
	DryRun bool
	// Timeout bounds the wait for each CRD to be Established; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Install applies every CRD of Manifests with server-side apply as
// FieldManager, forcing conflicts (the manifests own every field they
// set), and waits until each one is Established. Installing CRDs that
// are already in place changes nothing. On an error it returns the
// results of the CRDs applied so far, the failed one included when its
// apply went through.
func Install(ctx context.Context, client dynamic.Interface, o Options) ([]Result, error) {
	ms, err := Manifests()
	if err != nil {
		return nil, err
	}
	crds := client.Resource(crdResource)
	var out []Result
	for _, m := range ms {
		r, err := install(ctx, crds, m.Object, o)
		if r.Name != "" {
			out = append(out, r)
		}
		if err != nil {
			return out, fmt.Errorf("installing %s: %w", m.Object.GetName(), err)
		}
	}
	return out, nil
}

func install(ctx context.Context, crds dynamic.ResourceInterface, obj *unstructured.Unstructured,
	o Options) (Result, error) {
	name := obj.GetName()
	before, err := crds.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		before = nil
	case err != nil:
		return Result{}, err
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if o.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	after, err := crds.Apply(ctx, name, obj, opts)
	if err != nil {
		return Result{}, err
	}
	r := Result{Name: name, Action: action(before, after)}
	if o.DryRun {
		return r, nil
	}
	if err := waitEstablished(ctx, crds, name, o.timeout()); err != nil {
		return r, err
	}
	r.Established = true
	return r, nil
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// action tells what turned before (nil when there was none) into after.
func action(before, after *unstructured.Unstructured) Action {
	switch {
	case before == nil:
		return Created
	case !equality.Semantic.DeepEqual(before.Object["spec"], after.Object["spec"]),
		!equality.Semantic.DeepEqual(before.GetLabels(), after.GetLabels()),
		!equality.Semantic.DeepEqual(before.GetAnnotations(), after.GetAnnotations()):
		return Configured
	}
	return Unchanged
}

// pollInterval is how often waitEstablished looks at a CRD.
const pollInterval = 100 * time.Millisecond

// waitEstablished polls the CRD called name until its Established
// condition is True. A NamesAccepted condition of False (another CRD
// holds one of its names) ends the wait at once.
func waitEstablished(ctx context.Context, crds dynamic.ResourceInterface, name string,
	d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			done, err := established(crd)
			if done || err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("not established after %v", d)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// established reports whether crd's Established condition is True, or
// why it never will be.
func established(crd *unstructured.Unstructured) (bool, error) {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		switch {
		case c["type"] == "Established" && c["status"] == "True":
			return true, nil
		case c["type"] == "NamesAccepted" && c["status"] == "False":
			return false, fmt.Errorf("names not accepted: %v", c["message"])
		}
	}
	return false, nil
}
