// Package overridesnapshot keeps a snapshot of every ClusterResourceOverride and
// ResourceOverride: a new one, <override>-<index>, each time the spec changes, marked
// kubernetes-fleet.io/is-latest-snapshot=true, with the RevisionHistoryLimit newest kept. A
// snapshot is owned by its override, so deleting the override deletes its snapshots. The
// rollout reads the latest snapshots; bindings name the snapshots they were given.
package overridesnapshot

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub/overrider"
)

// DefaultRevisionHistoryLimit is how many snapshots of an override are kept by default.
const DefaultRevisionHistoryLimit = 10

// Options configure the controller.
type Options struct {
	// RevisionHistoryLimit is how many snapshots of each override are kept; 0 means
	// DefaultRevisionHistoryLimit.
	RevisionHistoryLimit int
}

// Setup registers the controllers of both kinds with mgr.
func Setup(mgr manager.Manager, opts Options) error {
	limit := opts.RevisionHistoryLimit
	if limit <= 0 {
		limit = DefaultRevisionHistoryLimit
	}
	r := &reconciler{client: mgr.GetClient(), limit: limit}
	if err := builderFor(mgr, "clusterresourceoverride", &placementv1beta1.ClusterResourceOverride{}, &placementv1beta1.ClusterResourceOverrideSnapshot{}).
		Complete(reconcile.Func(r.reconcileCluster)); err != nil {
		return err
	}
	return builderFor(mgr, "resourceoverride", &placementv1beta1.ResourceOverride{}, &placementv1beta1.ResourceOverrideSnapshot{}).
		Complete(reconcile.Func(r.reconcileNamespaced))
}

type reconciler struct {
	client ctrl.Client
	limit  int
}

func (r *reconciler) reconcileCluster(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	o := &placementv1beta1.ClusterResourceOverride{}
	if err := r.client.Get(ctx, req.NamespacedName, o); err != nil || o.DeletionTimestamp != nil {
		return reconcile.Result{}, ctrl.IgnoreNotFound(err)
	}
	var list placementv1beta1.ClusterResourceOverrideSnapshotList
	if err := r.client.List(ctx, &list, ctrl.MatchingLabels{placementv1beta1.OverrideTrackingLabel: o.Name}); err != nil {
		return reconcile.Result{}, err
	}
	have := make([]snapshot, len(list.Items))
	for i := range list.Items {
		have[i] = snapshot{obj: &list.Items[i], hash: list.Items[i].Spec.OverrideHash}
	}
	return reconcile.Result{}, r.sync(ctx, o, o.Spec, have, func(name string, labels map[string]string, hash []byte) ctrl.Object {
		return &placementv1beta1.ClusterResourceOverrideSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec:       placementv1beta1.ClusterResourceOverrideSnapshotSpec{OverrideSpec: *o.Spec.DeepCopy(), OverrideHash: hash},
		}
	})
}

func (r *reconciler) reconcileNamespaced(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	o := &placementv1beta1.ResourceOverride{}
	if err := r.client.Get(ctx, req.NamespacedName, o); err != nil || o.DeletionTimestamp != nil {
		return reconcile.Result{}, ctrl.IgnoreNotFound(err)
	}
	var list placementv1beta1.ResourceOverrideSnapshotList
	if err := r.client.List(ctx, &list, ctrl.InNamespace(o.Namespace), ctrl.MatchingLabels{placementv1beta1.OverrideTrackingLabel: o.Name}); err != nil {
		return reconcile.Result{}, err
	}
	have := make([]snapshot, len(list.Items))
	for i := range list.Items {
		have[i] = snapshot{obj: &list.Items[i], hash: list.Items[i].Spec.OverrideHash}
	}
	return reconcile.Result{}, r.sync(ctx, o, o.Spec, have, func(name string, labels map[string]string, hash []byte) ctrl.Object {
		return &placementv1beta1.ResourceOverrideSnapshot{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels},
			Spec:       placementv1beta1.ResourceOverrideSnapshotSpec{OverrideSpec: *o.Spec.DeepCopy(), OverrideHash: hash},
		}
	})
}

type snapshot struct {
	obj  ctrl.Object
	hash []byte
}

func indexOf(o ctrl.Object) int {
	i, err := strconv.Atoi(o.GetLabels()[placementv1beta1.OverrideIndexLabel])
	if err != nil {
		return -1
	}
	return i
}

// sync makes a new snapshot when the spec changed, then marks the older ones as not the
// latest and deletes those past the history limit. The new snapshot is made first: for a
// moment two are marked latest, and readers take the highest index, so the override is never
// missing.
func (r *reconciler) sync(ctx context.Context, owner ctrl.Object, spec any, have []snapshot,
	build func(name string, labels map[string]string, hash []byte) ctrl.Object) error {
	hash, err := overrider.Hash(spec)
	if err != nil {
		return err
	}
	sort.Slice(have, func(i, j int) bool { return indexOf(have[i].obj) > indexOf(have[j].obj) })
	if len(have) == 0 || !bytes.Equal(have[0].hash, hash) {
		next := 0
		if len(have) > 0 {
			next = indexOf(have[0].obj) + 1
		}
		snap := build(placementv1beta1.OverrideSnapshotName(owner.GetName(), next), map[string]string{
			placementv1beta1.OverrideTrackingLabel: owner.GetName(),
			placementv1beta1.OverrideIndexLabel:    strconv.Itoa(next),
			placementv1beta1.IsLatestSnapshotLabel: "true",
		}, hash)
		gvk, err := r.client.GroupVersionKindFor(owner)
		if err != nil {
			return err
		}
		snap.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
			Name: owner.GetName(), UID: owner.GetUID(), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}})
		if err := r.client.Create(ctx, snap); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating override snapshot %s: %w", snap.GetName(), err)
		}
		have = append([]snapshot{{obj: snap, hash: hash}}, have...)
	}
	var writes []func(context.Context) error
	for i, s := range have {
		obj := s.obj
		switch {
		case i >= r.limit:
			writes = append(writes, func(ctx context.Context) error {
				return ctrl.IgnoreNotFound(r.client.Delete(ctx, obj, ctrl.Preconditions{UID: ptr.To(obj.GetUID())}))
			})
		case (i == 0) != (obj.GetLabels()[placementv1beta1.IsLatestSnapshotLabel] == "true"):
			latest := strconv.FormatBool(i == 0)
			writes = append(writes, func(ctx context.Context) error {
				patch := []byte(`{"metadata":{"labels":{"` + placementv1beta1.IsLatestSnapshotLabel + `":"` + latest + `"}}}`)
				return ctrl.IgnoreNotFound(r.client.Patch(ctx, obj, ctrl.RawPatch("application/merge-patch+json", patch)))
			})
		}
	}
	return controllerdefaults.WriteAll(ctx, writes)
}
