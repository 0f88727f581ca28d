package rollout

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/envelope"
	"github.com/flotilla-dev/flotilla/internal/hub/overrider"
	"github.com/flotilla-dev/flotilla/internal/hub/scope"
	"github.com/flotilla-dev/flotilla/internal/hub/snapshot"
)

// OverridesFor returns, per target cluster of the bindings, the override snapshots that
// apply there to the resources of the master snapshot's index. With no override in the
// fleet it reads nothing more.
func OverridesFor(ctx context.Context, c client.Reader, key scope.Key, master placementv1beta1.ResourceSnapshotObj,
	bindings []placementv1beta1.BindingObj) (map[string]Overrides, error) {
	set, err := latestOverrides(ctx, c)
	if err != nil || (len(set.Cluster) == 0 && len(set.Namespaced) == 0) {
		return nil, err
	}
	parts, _, err := snapshot.ResourceSnapshotsOfIndex(ctx, c, key, snapshot.Index(master, placementv1beta1.ResourceIndexLabel))
	if err != nil {
		return nil, err
	}
	var resources []placementv1beta1.ResourceIdentifier
	for _, part := range parts {
		for _, res := range part.GetResourceSnapshotSpec().SelectedResources {
			_, wrapped, isEnvelope, _ := envelope.Unwrap(res.Raw) // a bad envelope fails in the work generator
			if !isEnvelope {
				wrapped = [][]byte{res.Raw}
			}
			for _, obj := range wrapped {
				resources = append(resources, overrider.Identify(obj))
			}
		}
	}
	out := map[string]Overrides{}
	for _, b := range bindings {
		cluster := b.GetBindingSpec().TargetCluster
		mc := &clusterv1beta1.MemberCluster{}
		if err := c.Get(ctx, client.ObjectKey{Name: cluster}, mc); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return nil, err
			}
			continue
		}
		cro, ro := overrider.Applicable(set, key, resources, mc)
		out[cluster] = Overrides{Cluster: cro, Namespaced: ro}
	}
	return out, nil
}

// latestOverrides lists the latest snapshot of every override. While a new snapshot is
// being made two may be marked latest; the higher index wins.
func latestOverrides(ctx context.Context, c client.Reader) (overrider.Snapshots, error) {
	latest := client.MatchingLabels{placementv1beta1.IsLatestSnapshotLabel: "true"}
	var cros placementv1beta1.ClusterResourceOverrideSnapshotList
	if err := c.List(ctx, &cros, latest); err != nil {
		return overrider.Snapshots{}, err
	}
	var ros placementv1beta1.ResourceOverrideSnapshotList
	if err := c.List(ctx, &ros, latest); err != nil {
		return overrider.Snapshots{}, err
	}
	return overrider.Snapshots{Cluster: newestPerOverride(cros.Items), Namespaced: newestPerOverride(ros.Items)}, nil
}

// newestPerOverride keeps, of the snapshots of each override (by namespace and tracking
// label), the one with the highest index.
func newestPerOverride[T any, P interface {
	*T
	client.Object
}](items []T) []T {
	var out []T
	at := map[string]int{}
	for i := range items {
		o := P(&items[i])
		key := o.GetNamespace() + "/" + o.GetLabels()[placementv1beta1.OverrideTrackingLabel]
		j, seen := at[key]
		switch {
		case !seen:
			at[key] = len(out)
			out = append(out, items[i])
		case snapshot.Index(o, placementv1beta1.OverrideIndexLabel) > snapshot.Index(P(&out[j]), placementv1beta1.OverrideIndexLabel):
			out[j] = items[i]
		}
	}
	return out
}

// watchOverrides wakes the placements an override snapshot may concern (the one it names,
// or every placement), and every placement when a member's labels change, since rules
// select members by label.
func watchOverrides(b *builder.Builder, c client.Reader) *builder.Builder {
	all := func(ctx context.Context) []reconcile.Request {
		out, err := scope.AllPlacements(ctx, c)
		if err != nil {
			return nil
		}
		return out
	}
	named := func(ref *placementv1beta1.PlacementRef, namespace string) (reconcile.Request, bool) {
		switch {
		case ref == nil:
			return reconcile.Request{}, false
		case ref.Scope == placementv1beta1.NamespaceScoped:
			return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: namespace, Name: ref.Name}}, namespace != ""
		default:
			return reconcile.Request{NamespacedName: types.NamespacedName{Name: ref.Name}}, true
		}
	}
	return b.
		Watches(&placementv1beta1.ClusterResourceOverrideSnapshot{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			if req, ok := named(o.(*placementv1beta1.ClusterResourceOverrideSnapshot).Spec.OverrideSpec.Placement, ""); ok {
				return []reconcile.Request{req}
			}
			return all(ctx)
		})).
		Watches(&placementv1beta1.ResourceOverrideSnapshot{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			if req, ok := named(o.(*placementv1beta1.ResourceOverrideSnapshot).Spec.OverrideSpec.Placement, o.GetNamespace()); ok {
				return []reconcile.Request{req}
			}
			return all(ctx)
		})).
		Watches(&clusterv1beta1.MemberCluster{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
			return all(ctx)
		}), builder.WithPredicates(predicate.LabelChangedPredicate{}))
}
