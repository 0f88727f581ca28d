package workgen

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// placementStrategy reads what of the placement's strategy travels on its Works besides the
// binding: whether it abandons its resources when deleted, and its report-back strategy. A
// placement that cannot be read abandons nothing and reports nothing back.
func (r *Reconciler) placementStrategy(ctx context.Context, crp string) (abandon bool, reportBack *placementv1beta1.ReportBackStrategy) {
	p := &placementv1beta1.ClusterResourcePlacement{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: crp}, p); err != nil {
		return false, nil
	}
	ds := p.Spec.Strategy.DeleteStrategy
	return ds != nil && ds.PropagationPolicy == placementv1beta1.DeletePropagationPolicyAbandon, p.Spec.Strategy.ReportBackStrategy
}

// keepAbandonForDeletedPlacement clears the Abandon mark from the Works of a binding that
// goes while its placement stays (the member was unpicked): Abandon applies to deleting the
// placement only. If the member agent misses the change, the objects stay on the member,
// which is the safe side.
func (r *Reconciler) keepAbandonForDeletedPlacement(ctx context.Context, b *placementv1beta1.ClusterResourceBinding, ns string) error {
	p := &placementv1beta1.ClusterResourcePlacement{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: b.Labels[placementv1beta1.CRPTrackingLabel]}, p)
	if client.IgnoreNotFound(err) != nil {
		return err
	}
	if err != nil || p.DeletionTimestamp != nil {
		return nil // the placement is going: its deleteStrategy holds
	}
	var works placementv1beta1.WorkList
	if err := r.Client.List(ctx, &works, client.InNamespace(ns), client.MatchingLabels{placementv1beta1.ParentBindingLabel: b.Name}); err != nil {
		return err
	}
	for i := range works.Items {
		w := &works.Items[i]
		if w.Annotations[placementv1beta1.DeletePropagationAnnotation] == "" {
			continue
		}
		patch := []byte(`{"metadata":{"annotations":{"` + placementv1beta1.DeletePropagationAnnotation + `":null}}}`)
		if err := r.Client.Patch(ctx, w, client.RawPatch("application/merge-patch+json", patch)); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}
