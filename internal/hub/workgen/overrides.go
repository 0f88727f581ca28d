package workgen

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/overrider"
)

// overridden returns the manifests of each snapshot part for the binding's member, with the
// override snapshots the binding names applied, and sets Overridden when there are any. A
// Delete rule leaves an object out. An error (a patch that does not apply, a snapshot that
// is gone) means nothing new is written for the member.
func (r *Reconciler) overridden(ctx context.Context, b *placementv1beta1.ClusterResourceBinding,
	parts []*placementv1beta1.ClusterResourceSnapshot) ([][][]byte, error) {
	out := make([][][]byte, len(parts))
	cros, ros := b.Spec.ClusterResourceOverrideSnapshots, b.Spec.ResourceOverrideSnapshots
	if len(cros) == 0 && len(ros) == 0 {
		for i, p := range parts {
			for _, res := range p.Spec.SelectedResources {
				out[i] = append(out[i], res.Raw)
			}
		}
		return out, nil
	}
	set, err := r.overrideSnapshots(ctx, cros, ros)
	if err != nil {
		return nil, err
	}
	mc := &clusterv1beta1.MemberCluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: b.Spec.TargetCluster}, mc); err != nil {
		return nil, fmt.Errorf("reading MemberCluster %s for its overrides: %w", b.Spec.TargetCluster, err)
	}
	left := 0
	for i, p := range parts {
		for _, res := range p.Spec.SelectedResources {
			id := overrider.Identify(res.Raw)
			got, err := overrider.Apply(res.Raw, id, set, mc)
			if err != nil {
				return nil, fmt.Errorf("overriding %s %s: %w", id.Kind, objectName(id), err)
			}
			if got.Deleted {
				left++
				continue
			}
			out[i] = append(out[i], got.Raw)
		}
	}
	msg := fmt.Sprintf("applied %d ClusterResourceOverride and %d ResourceOverride snapshot(s)", len(cros), len(ros))
	if left > 0 {
		msg += fmt.Sprintf("; %d object(s) left off this cluster by a Delete rule", left)
	}
	setCondition(b, placementv1beta1.ResourceOverriddenConditionType, metav1.ConditionTrue, placementv1beta1.OverriddenSucceededReason, msg)
	return out, nil
}

func (r *Reconciler) overrideSnapshots(ctx context.Context, cros []string, ros []placementv1beta1.NamespacedName) (overrider.Snapshots, error) {
	var set overrider.Snapshots
	for _, name := range cros {
		s := placementv1beta1.ClusterResourceOverrideSnapshot{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, &s); err != nil {
			return set, fmt.Errorf("reading ClusterResourceOverrideSnapshot %s: %w", name, err)
		}
		set.Cluster = append(set.Cluster, s)
	}
	for _, n := range ros {
		s := placementv1beta1.ResourceOverrideSnapshot{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: n.Namespace, Name: n.Name}, &s); err != nil {
			return set, fmt.Errorf("reading ResourceOverrideSnapshot %s/%s: %w", n.Namespace, n.Name, err)
		}
		set.Namespaced = append(set.Namespaced, s)
	}
	return set, nil
}

func objectName(id placementv1beta1.ResourceIdentifier) string {
	if id.Namespace == "" {
		return id.Name
	}
	return id.Namespace + "/" + id.Name
}
