// Package scope maps a placement's key to the kinds of its scope, so that the placement
// controllers have one code path for every scope. A key with an empty namespace names a
// ClusterResourcePlacement, whose bindings and snapshots are cluster-scoped; a key with a
// namespace names a ResourcePlacement, whose bindings and snapshots live in that namespace.
// Children find their placement through the kubernetes-fleet.io/parent-CRP label and their
// own namespace.
package scope

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// Key names a placement; Namespace is empty for a ClusterResourcePlacement.
type Key = types.NamespacedName

// KeyOf is the key of the placement a binding or snapshot belongs to ("" name when it has
// no parent label).
func KeyOf(child client.Object) Key {
	return Key{Namespace: child.GetNamespace(), Name: child.GetLabels()[placementv1beta1.CRPTrackingLabel]}
}

// NewPlacement returns an empty placement of the key's scope, to read into.
func NewPlacement(key Key) placementv1beta1.PlacementObj {
	if key.Namespace != "" {
		return &placementv1beta1.ResourcePlacement{}
	}
	return &placementv1beta1.ClusterResourcePlacement{}
}

// GetPlacement reads the key's placement.
func GetPlacement(ctx context.Context, c client.Reader, key Key) (placementv1beta1.PlacementObj, error) {
	p := NewPlacement(key)
	if err := c.Get(ctx, key, p); err != nil {
		return nil, err
	}
	return p, nil
}

// children are the list options of a placement's children with the given extra labels.
func children(key Key, extra map[string]string) []client.ListOption {
	labels := client.MatchingLabels{placementv1beta1.CRPTrackingLabel: key.Name}
	for k, v := range extra {
		labels[k] = v
	}
	opts := []client.ListOption{labels}
	if key.Namespace != "" {
		opts = append(opts, client.InNamespace(key.Namespace))
	}
	return opts
}

// ListBindings lists the placement's bindings; opts may add, say,
// client.UnsafeDisableDeepCopy for a caller that only reads them.
func ListBindings(ctx context.Context, c client.Reader, key Key, opts ...client.ListOption) ([]placementv1beta1.BindingObj, error) {
	opts = append(children(key, nil), opts...)
	if key.Namespace != "" {
		var list placementv1beta1.ResourceBindingList
		if err := c.List(ctx, &list, opts...); err != nil {
			return nil, fmt.Errorf("listing the bindings of %s: %w", key, err)
		}
		return pointers[placementv1beta1.BindingObj](list.Items), nil
	}
	var list placementv1beta1.ClusterResourceBindingList
	if err := c.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("listing the bindings of %s: %w", key, err)
	}
	return pointers[placementv1beta1.BindingObj](list.Items), nil
}

// ListResourceSnapshots lists the placement's resource snapshots that carry the extra labels.
func ListResourceSnapshots(ctx context.Context, c client.Reader, key Key, extra map[string]string) ([]placementv1beta1.ResourceSnapshotObj, error) {
	if key.Namespace != "" {
		var list placementv1beta1.ResourceSnapshotList
		if err := c.List(ctx, &list, children(key, extra)...); err != nil {
			return nil, fmt.Errorf("listing the resource snapshots of %s: %w", key, err)
		}
		return pointers[placementv1beta1.ResourceSnapshotObj](list.Items), nil
	}
	var list placementv1beta1.ClusterResourceSnapshotList
	if err := c.List(ctx, &list, children(key, extra)...); err != nil {
		return nil, fmt.Errorf("listing the resource snapshots of %s: %w", key, err)
	}
	return pointers[placementv1beta1.ResourceSnapshotObj](list.Items), nil
}

// ListPolicySnapshots lists the placement's policy snapshots that carry the extra labels.
func ListPolicySnapshots(ctx context.Context, c client.Reader, key Key, extra map[string]string) ([]placementv1beta1.PolicySnapshotObj, error) {
	if key.Namespace != "" {
		var list placementv1beta1.SchedulingPolicySnapshotList
		if err := c.List(ctx, &list, children(key, extra)...); err != nil {
			return nil, fmt.Errorf("listing the policy snapshots of %s: %w", key, err)
		}
		return pointers[placementv1beta1.PolicySnapshotObj](list.Items), nil
	}
	var list placementv1beta1.ClusterSchedulingPolicySnapshotList
	if err := c.List(ctx, &list, children(key, extra)...); err != nil {
		return nil, fmt.Errorf("listing the policy snapshots of %s: %w", key, err)
	}
	return pointers[placementv1beta1.PolicySnapshotObj](list.Items), nil
}

// GetBinding reads a binding by its own key (not its placement's): a binding with an empty
// namespace is a ClusterResourceBinding.
func GetBinding(ctx context.Context, c client.Reader, key types.NamespacedName) (placementv1beta1.BindingObj, error) {
	b := NewBinding(key)
	if err := c.Get(ctx, key, b); err != nil {
		return nil, err
	}
	return b, nil
}

// GetResourceSnapshot reads a resource snapshot by its own key.
func GetResourceSnapshot(ctx context.Context, c client.Reader, key types.NamespacedName) (placementv1beta1.ResourceSnapshotObj, error) {
	s := NewResourceSnapshot(key)
	if err := c.Get(ctx, key, s); err != nil {
		return nil, err
	}
	return s, nil
}

// NewBinding returns an empty binding of the key's scope, in the placement's namespace.
func NewBinding(key Key) placementv1beta1.BindingObj {
	if key.Namespace != "" {
		return &placementv1beta1.ResourceBinding{}
	}
	return &placementv1beta1.ClusterResourceBinding{}
}

// PlacementKind is the kind of the key's placement, for owner references.
func PlacementKind(key Key) string {
	if key.Namespace != "" {
		return "ResourcePlacement"
	}
	return "ClusterResourcePlacement"
}

// NewPolicySnapshot returns an empty policy snapshot of the key's scope.
func NewPolicySnapshot(key Key) placementv1beta1.PolicySnapshotObj {
	if key.Namespace != "" {
		return &placementv1beta1.SchedulingPolicySnapshot{}
	}
	return &placementv1beta1.ClusterSchedulingPolicySnapshot{}
}

// NewResourceSnapshot returns an empty resource snapshot of the key's scope.
func NewResourceSnapshot(key Key) placementv1beta1.ResourceSnapshotObj {
	if key.Namespace != "" {
		return &placementv1beta1.ResourceSnapshot{}
	}
	return &placementv1beta1.ClusterResourceSnapshot{}
}

// pointers returns pointers to the items of a list, as the interface they implement.
func pointers[I any, T any, P interface {
	*T
	client.Object
}](items []T) []I {
	out := make([]I, len(items))
	for i := range items {
		out[i] = any(P(&items[i])).(I)
	}
	return out
}

// WorkPrefix is what a placement's Work names start with: its name, or for a
// ResourcePlacement its namespace and name, as KubeFleet names them, since Works of every
// placement share the member's namespace.
func WorkPrefix(key Key) string {
	if key.Namespace != "" {
		return key.Namespace + "." + key.Name
	}
	return key.Name
}

// EnqueueParent enqueues the placement a binding or snapshot belongs to.
func EnqueueParent() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		if key := KeyOf(o); key.Name != "" {
			return []reconcile.Request{{NamespacedName: key}}
		}
		return nil
	})
}

// WorksOf selects the Works generated from a binding (in the member's namespace).
func WorksOf(b client.Object) client.MatchingLabelsSelector {
	sel := labels.SelectorFromSet(labels.Set{placementv1beta1.ParentBindingLabel: b.GetName()})
	if ns := b.GetNamespace(); ns != "" {
		sel = labels.SelectorFromSet(labels.Set{placementv1beta1.ParentBindingLabel: b.GetName(), placementv1beta1.ParentNamespaceLabel: ns})
	} else if none, err := labels.NewRequirement(placementv1beta1.ParentNamespaceLabel, selection.DoesNotExist, nil); err == nil {
		sel = sel.Add(*none)
	}
	return client.MatchingLabelsSelector{Selector: sel}
}

// BindingOfWork enqueues the binding a Work was generated from.
func BindingOfWork() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		l := o.GetLabels()
		if name := l[placementv1beta1.ParentBindingLabel]; name != "" {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: l[placementv1beta1.ParentNamespaceLabel], Name: name}}}
		}
		return nil
	})
}

// AllPlacements lists every placement of every scope, as requests.
func AllPlacements(ctx context.Context, c client.Reader) ([]reconcile.Request, error) {
	var crps placementv1beta1.ClusterResourcePlacementList
	if err := c.List(ctx, &crps); err != nil {
		return nil, err
	}
	var rps placementv1beta1.ResourcePlacementList
	if err := c.List(ctx, &rps); err != nil {
		return nil, err
	}
	out := make([]reconcile.Request, 0, len(crps.Items)+len(rps.Items))
	for i := range crps.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&crps.Items[i])})
	}
	for i := range rps.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&rps.Items[i])})
	}
	return out, nil
}
