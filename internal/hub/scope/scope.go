// Package scope maps a placement's key to the kinds of its scope, so that the placement
// controllers have one code path for every scope. A key with an empty namespace names a
// ClusterResourcePlacement, whose bindings and snapshots are cluster-scoped; its children
// find their placement through the kubernetes-fleet.io/parent-CRP label.
package scope

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// Key names a placement; Namespace is empty for a ClusterResourcePlacement.
type Key = types.NamespacedName

// KeyOf is the key of the placement a binding or snapshot belongs to ("" name when it has
// no parent label).
func KeyOf(child client.Object) Key {
	return Key{Namespace: child.GetNamespace(), Name: child.GetLabels()[placementv1beta1.CRPTrackingLabel]}
}

// errScope is returned for a key of a scope Flotilla does not serve.
func errScope(key Key) error {
	return fmt.Errorf("placement %s: only cluster-scoped placements are served", key)
}

// NewPlacement returns an empty placement of the key's scope, to read into.
func NewPlacement(key Key) (placementv1beta1.PlacementObj, error) {
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	return &placementv1beta1.ClusterResourcePlacement{}, nil
}

// GetPlacement reads the key's placement.
func GetPlacement(ctx context.Context, c client.Reader, key Key) (placementv1beta1.PlacementObj, error) {
	p, err := NewPlacement(key)
	if err != nil {
		return nil, err
	}
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
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	var list placementv1beta1.ClusterResourceBindingList
	if err := c.List(ctx, &list, append(children(key, nil), opts...)...); err != nil {
		return nil, fmt.Errorf("listing the bindings of %s: %w", key, err)
	}
	out := make([]placementv1beta1.BindingObj, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// ListResourceSnapshots lists the placement's resource snapshots that carry the extra labels.
func ListResourceSnapshots(ctx context.Context, c client.Reader, key Key, extra map[string]string) ([]placementv1beta1.ResourceSnapshotObj, error) {
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	var list placementv1beta1.ClusterResourceSnapshotList
	if err := c.List(ctx, &list, children(key, extra)...); err != nil {
		return nil, fmt.Errorf("listing the resource snapshots of %s: %w", key, err)
	}
	out := make([]placementv1beta1.ResourceSnapshotObj, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// ListPolicySnapshots lists the placement's policy snapshots that carry the extra labels.
func ListPolicySnapshots(ctx context.Context, c client.Reader, key Key, extra map[string]string) ([]placementv1beta1.PolicySnapshotObj, error) {
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	var list placementv1beta1.ClusterSchedulingPolicySnapshotList
	if err := c.List(ctx, &list, children(key, extra)...); err != nil {
		return nil, fmt.Errorf("listing the policy snapshots of %s: %w", key, err)
	}
	out := make([]placementv1beta1.PolicySnapshotObj, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// GetBinding reads a binding by its own key (not its placement's): a binding with an empty
// namespace is a ClusterResourceBinding.
func GetBinding(ctx context.Context, c client.Reader, key types.NamespacedName) (placementv1beta1.BindingObj, error) {
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	b := &placementv1beta1.ClusterResourceBinding{}
	if err := c.Get(ctx, key, b); err != nil {
		return nil, err
	}
	return b, nil
}

// GetResourceSnapshot reads a resource snapshot by its own key.
func GetResourceSnapshot(ctx context.Context, c client.Reader, key types.NamespacedName) (placementv1beta1.ResourceSnapshotObj, error) {
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	s := &placementv1beta1.ClusterResourceSnapshot{}
	if err := c.Get(ctx, key, s); err != nil {
		return nil, err
	}
	return s, nil
}

// NewBinding returns an empty binding of the key's scope, in the placement's namespace.
func NewBinding(key Key) (placementv1beta1.BindingObj, error) {
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	return &placementv1beta1.ClusterResourceBinding{}, nil
}

// PlacementKind is the kind of the key's placement, for owner references.
func PlacementKind(key Key) string {
	if key.Namespace != "" {
		return "ResourcePlacement"
	}
	return "ClusterResourcePlacement"
}

// NewPolicySnapshot returns an empty policy snapshot of the key's scope.
func NewPolicySnapshot(key Key) (placementv1beta1.PolicySnapshotObj, error) {
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	return &placementv1beta1.ClusterSchedulingPolicySnapshot{}, nil
}

// NewResourceSnapshot returns an empty resource snapshot of the key's scope.
func NewResourceSnapshot(key Key) (placementv1beta1.ResourceSnapshotObj, error) {
	if key.Namespace != "" {
		return nil, errScope(key)
	}
	return &placementv1beta1.ClusterResourceSnapshot{}, nil
}
