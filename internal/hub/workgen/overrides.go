package workgen

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/envelope"
	"github.com/flotilla-dev/flotilla/internal/hub/overrider"
)

// contents returns what each of the binding's Works holds for its member: one Work per
// snapshot part, and one per envelope with the envelope's objects, all with the override
// snapshots the binding names applied. It sets Overridden when there are overrides. A Delete
// rule leaves an object out. An error (a patch that does not apply, a snapshot that is gone,
// an envelope object in another namespace) means nothing new is written for the member.
func (r *Reconciler) contents(ctx context.Context, b placementv1beta1.BindingObj, prefix string,
	parts []placementv1beta1.ResourceSnapshotObj) ([]workContent, error) {
	cros, ros := b.GetBindingSpec().ClusterResourceOverrideSnapshots, b.GetBindingSpec().ResourceOverrideSnapshots
	overriding := len(cros) > 0 || len(ros) > 0
	var set overrider.Snapshots
	mc := &clusterv1beta1.MemberCluster{}
	if overriding {
		var err error
		if set, err = r.overrideSnapshots(ctx, cros, ros); err != nil {
			return nil, err
		}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: b.GetBindingSpec().TargetCluster}, mc); err != nil {
			return nil, fmt.Errorf("reading MemberCluster %s for its overrides: %w", b.GetBindingSpec().TargetCluster, err)
		}
	}
	left := 0
	apply := func(raw []byte) ([]byte, bool, error) {
		if !overriding {
			return raw, true, nil
		}
		id := overrider.Identify(raw)
		got, err := overrider.Apply(raw, id, set, mc)
		if err != nil {
			return nil, false, fmt.Errorf("overriding %s %s: %w", id.Kind, objectName(id), err)
		}
		if got.Deleted {
			left++
			return nil, false, nil
		}
		return got.Raw, true, nil
	}
	var out []workContent
	var envelopes []workContent
	for i, p := range parts {
		c := workContent{name: placementv1beta1.WorkName(prefix)}
		if i > 0 {
			c.name = placementv1beta1.SubWorkName(prefix, i-1)
		}
		for _, res := range p.GetResourceSnapshotSpec().SelectedResources {
			env, objects, isEnvelope, err := envelope.Unwrap(res.Raw)
			if err != nil {
				return nil, err
			}
			if !isEnvelope {
				raw, keep, err := apply(res.Raw)
				if err != nil {
					return nil, err
				}
				if keep {
					c.raws = append(c.raws, raw)
				}
				continue
			}
			ec := workContent{name: placementv1beta1.EnvelopeWorkName(prefix, env), envelope: &env}
			for _, obj := range objects {
				raw, keep, err := apply(obj)
				if err != nil {
					return nil, fmt.Errorf("in %s %s: %w", env.Type, objectName(placementv1beta1.ResourceIdentifier{Name: env.Name, Namespace: env.Namespace}), err)
				}
				if keep {
					ec.raws = append(ec.raws, raw)
				}
			}
			envelopes = append(envelopes, ec)
		}
		out = append(out, c)
	}
	if overriding {
		msg := fmt.Sprintf("applied %d ClusterResourceOverride and %d ResourceOverride snapshot(s)", len(cros), len(ros))
		if left > 0 {
			msg += fmt.Sprintf("; %d object(s) left off this cluster by a Delete rule", left)
		}
		setCondition(b, placementv1beta1.ResourceOverriddenConditionType, metav1.ConditionTrue, placementv1beta1.OverriddenSucceededReason, msg)
	}
	return append(out, envelopes...), nil
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
