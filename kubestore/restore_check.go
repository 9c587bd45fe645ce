package kubestore

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/kube/apis/v1alpha1"
)

// dryRun asks the API server to check a write without making it:
// authorization, admission and the CRD's validation all run.
var dryRun = []string{metav1.DryRunAll}

// preflight checks, before Restore writes anything, that the API server
// will take every object d makes: each Profile, Machine, DHCPLease and
// the rejections ConfigMap is written with dryRun=All, and the right to
// write Machine statuses is asked for with a SelfSubjectAccessReview (a
// dry run needs the Machine to exist). So a missing permission, or an
// object the CRD's schema refuses, fails Restore before its first write.
// It costs one request per object.
func (s *Store) preflight(ctx context.Context, d inventory.Dump) error {
	for _, check := range []func(context.Context, inventory.Dump) error{
		s.checkProfiles, s.checkMachines, s.checkRejections, s.checkLeases,
	} {
		if err := check(ctx, d); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// dryCreate checks the creation of obj, a resource of rackboot.io.
func (s *Store) dryCreate(ctx context.Context, resource, name string, obj runtime.Object) error {
	err := s.client.Post().Namespace(s.ns).Resource(resource).
		VersionedParams(&metav1.CreateOptions{DryRun: dryRun}, metav1.ParameterCodec).
		Body(obj).Do(ctx).Error()
	if err != nil {
		return fmt.Errorf("checking the creation of %s %s: %w", resource, name, err)
	}
	return nil
}

// checkProfiles checks that d's Profiles can be created, or are there
// already with the same spec.
func (s *Store) checkProfiles(ctx context.Context, d inventory.Dump) error {
	for _, p := range d.Profiles {
		want := v1alpha1.ProfileFromInventory(p)
		want.Namespace = s.ns
		err := s.dryCreate(ctx, "profiles", p.Name, want)
		if apierrors.IsAlreadyExists(err) {
			err = s.sameProfile(ctx, want)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkMachines checks that d's Machines can be created, as
// PutStoredMachine makes them, and their status written.
func (s *Store) checkMachines(ctx context.Context, d inventory.Dump) error {
	for _, m := range d.Machines {
		obj := v1alpha1.MachineFromInventory(m, v1alpha1.CredentialsSecretRef{Name: m.Name + "-bmc"})
		obj.Namespace = s.ns
		if err := s.dryCreate(ctx, "machines", m.Name, obj); err != nil {
			return err
		}
	}
	if len(d.Machines) == 0 {
		return nil
	}
	return s.mayUpdate(ctx, v1alpha1.GroupVersion.Group, "machines", "status")
}

// mayUpdate asks the API server whether this identity may update
// resource (its subresource, if not "") in the namespace.
func (s *Store) mayUpdate(ctx context.Context, group, resource, sub string) error {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: s.ns, Verb: "update",
			Group: group, Resource: resource, Subresource: sub}}}
	out, err := s.core.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	switch {
	case err != nil:
		return fmt.Errorf("asking whether rackboot may update %s/%s: %w", resource, sub, err)
	case !out.Status.Allowed:
		return fmt.Errorf("checking the update of %s/%s: %w", resource, sub,
			apierrors.NewForbidden(v1alpha1.GroupVersion.WithResource(resource).GroupResource(), "",
				fmt.Errorf("rackboot may not update %s/%s in namespace %s", resource, sub, s.ns)))
	}
	return nil
}

// checkRejections checks that the rejections ConfigMap can be written,
// when d has rejections.
func (s *Store) checkRejections(ctx context.Context, d inventory.Dump) error {
	if len(d.Rejected) == 0 {
		return nil
	}
	cms := s.core.CoreV1().ConfigMaps(s.ns)
	var err error
	if cur, ok := s.cachedRejections(); ok {
		_, err = cms.Update(ctx, cur.DeepCopy(), metav1.UpdateOptions{DryRun: dryRun})
	} else {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: rejectionsName, Namespace: s.ns}}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{DryRun: dryRun})
	}
	if err != nil {
		return fmt.Errorf("checking the write of configmap %s: %w", rejectionsName, err)
	}
	return nil
}

// checkLeases checks that d's leases and quarantines can be created.
func (s *Store) checkLeases(ctx context.Context, d inventory.Dump) error {
	var objs []*v1alpha1.DHCPLease
	for _, l := range d.Leases {
		objs = append(objs, v1alpha1.DHCPLeaseFromInventory(l))
	}
	for _, q := range d.Declined {
		objs = append(objs, v1alpha1.DeclinedFromInventory(q))
	}
	for _, o := range objs {
		o.Namespace = s.ns
		if err := s.dryCreate(ctx, leaseResource, o.Name, o); err != nil {
			return err
		}
	}
	return nil
}
