package workgen

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
)

// placementStrategy reads what of the placement's strategy travels on its Works besides the
// binding: whether it abandons its resources when deleted, and its report-back strategy. A
// placement that cannot be read abandons nothing and reports nothing back.
func (r *Reconciler) placementStrategy(ctx context.Context, key scope.Key) (abandon bool, reportBack *placementv1beta1.ReportBackStrategy) {
	p, err := scope.GetPlacement(ctx, r.Client, key)
	if err != nil {
		return false, nil
	}
	strategy := p.GetPlacementSpec().Strategy
	ds := strategy.DeleteStrategy
	return ds != nil && ds.PropagationPolicy == placementv1beta1.DeletePropagationPolicyAbandon, strategy.ReportBackStrategy
}

// keepAbandonForDeletedPlacement clears the Abandon mark from the Works of a binding that
// goes while its placement stays (the member was unpicked): Abandon applies to deleting the
// placement only. If the member agent misses the change, the objects stay on the member,
// which is the safe side.
func (r *Reconciler) keepAbandonForDeletedPlacement(ctx context.Context, b placementv1beta1.BindingObj, ns string) error {
	p, err := scope.GetPlacement(ctx, r.Client, scope.KeyOf(b))
	if client.IgnoreNotFound(err) != nil {
		return err
	}
	if err != nil || p.GetDeletionTimestamp() != nil {
		return nil // the placement is going: its deleteStrategy holds
	}
	var works placementv1beta1.WorkList
	if err := r.Client.List(ctx, &works, client.InNamespace(ns), scope.WorksOf(b)); err != nil {
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
