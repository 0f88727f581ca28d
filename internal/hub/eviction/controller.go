// Package eviction carries out ClusterResourcePlacementEvictions: each one removes what a
// placement placed on one member, once, if the placement's disruption budget allows it. It
// deletes that member's binding; the work generator and the member agent then remove the
// Works and what they placed, as for any unscheduled member. Whether the scheduler places on
// the member again is up to the policy and the member's taints.
package eviction

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// Options configure the eviction controller; it has none yet.
type Options struct{}

// Reconciler judges and carries out evictions.
type Reconciler struct {
	Client client.Client
}

// Setup registers the eviction controller with mgr.
func Setup(mgr manager.Manager, _ Options) error {
	return builder.ControllerManagedBy(mgr).
		Named("eviction").
		For(&placementv1beta1.ClusterResourcePlacementEviction{}).
		WithOptions(controllerdefaults.Options(0)).
		Complete(&Reconciler{Client: mgr.GetClient()})
}

// Reconcile judges one eviction that has no outcome yet, records the outcome, and deletes
// the binding when the eviction goes ahead. The outcome is written before the binding is
// deleted, so an eviction is never carried out twice.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	e := &placementv1beta1.ClusterResourcePlacementEviction{}
	if err := r.Client.Get(ctx, req.NamespacedName, e); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if e.DeletionTimestamp != nil || finished(e) {
		return reconcile.Result{}, nil
	}
	f, err := r.facts(ctx, e)
	if err != nil {
		return reconcile.Result{}, err
	}
	v := decide(f)
	meta.SetStatusCondition(&e.Status.Conditions, v.valid)
	if v.executed != nil {
		meta.SetStatusCondition(&e.Status.Conditions, *v.executed)
	}
	// Update, not patch: a conflict means another reconcile got there first.
	if err := r.Client.Status().Update(ctx, e); err != nil {
		return reconcile.Result{}, err
	}
	if v.evict == nil {
		return reconcile.Result{}, nil
	}
	log.FromContext(ctx).Info("evicting", "placement", e.Spec.PlacementName, "member", e.Spec.ClusterName, "binding", v.evict.Name)
	if err := r.Client.Delete(ctx, v.evict, client.Preconditions{UID: &v.evict.UID}); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, nil
}

func (r *Reconciler) facts(ctx context.Context, e *placementv1beta1.ClusterResourcePlacementEviction) (facts, error) {
	f := facts{eviction: e}
	p := &placementv1beta1.ClusterResourcePlacement{}
	switch err := r.Client.Get(ctx, types.NamespacedName{Name: e.Spec.PlacementName}, p); {
	case apierrors.IsNotFound(err):
		return f, nil
	case err != nil:
		return f, err
	}
	f.placement = p
	var bindings placementv1beta1.ClusterResourceBindingList
	if err := r.Client.List(ctx, &bindings, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: p.Name}); err != nil {
		return f, err
	}
	f.bindings = bindings.Items
	budget := &placementv1beta1.ClusterResourcePlacementDisruptionBudget{}
	switch err := r.Client.Get(ctx, types.NamespacedName{Name: p.Name}, budget); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return f, err
	default:
		f.budget = budget
	}
	return f, nil
}
