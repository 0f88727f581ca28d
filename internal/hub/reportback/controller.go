// Package reportback copies the status that member agents report back into Works onto the
// hub's own objects, for placements whose reportBackStrategy is Mirror to OriginalResource
// and which place on exactly one member, as KubeFleet does. With WorkAPI, or with more than
// one member, the status stays in the Works (the member agent writes it there).
package reportback

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
)

// FieldOwner is the field manager of the status fields written onto the hub's objects.
const FieldOwner = "flotilla-reportback"

// Options configure the report-back controller; it has none yet.
type Options struct{}

// Reconciler mirrors one Work's back-reported statuses onto the hub's originals.
type Reconciler struct {
	Client client.Client
}

// Setup registers the report-back controller with mgr.
func Setup(mgr manager.Manager, _ Options) error {
	r := &Reconciler{Client: mgr.GetClient()}
	return builder.ControllerManagedBy(mgr).
		Named("reportback").
		For(&placementv1beta1.Work{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return wantsOriginal(o.(*placementv1beta1.Work))
		}))).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

// Reconcile writes the status of each object of the Work onto the hub's original, with
// server-side apply on its status subresource, when the Work's placement picks one member.
// An original that is gone, or a kind without a status subresource, is left alone.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	work := &placementv1beta1.Work{}
	if err := r.Client.Get(ctx, req.NamespacedName, work); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if work.DeletionTimestamp != nil || !wantsOriginal(work) {
		return reconcile.Result{}, nil
	}
	// The Work's placement: a ResourcePlacement when it names its binding's namespace.
	key := types.NamespacedName{Namespace: work.Labels[placementv1beta1.ParentNamespaceLabel], Name: work.Labels[placementv1beta1.CRPTrackingLabel]}
	p, err := scope.GetPlacement(ctx, r.Client, key)
	if err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !picksOne(p.GetPlacementSpec().Policy) {
		return reconcile.Result{}, nil
	}
	patches, err := statusPatches(work)
	if err != nil {
		return reconcile.Result{}, reconcile.TerminalError(err)
	}
	var errs []error
	for _, u := range patches {
		err := r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership)
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return reconcile.Result{}, errors.Join(errs...)
}
