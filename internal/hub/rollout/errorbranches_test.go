package rollout_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/rollout"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// API errors in the middle of a rollout step, on the fake client: the step reports the
// error (so that it is retried), the bindings whose writes went through keep them, and the
// next step finishes the rollout without undoing anything.
func TestRolloutStepSurvivesAPIErrors(t *testing.T) {
	ctx := context.Background()
	const name = "web"
	clusters := []string{"m1", "m2", "m3"}
	crp := &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "x"}},
			Strategy: placementv1beta1.RolloutStrategy{Type: placementv1beta1.RollingUpdateRolloutStrategyType,
				RollingUpdate: &placementv1beta1.RollingUpdateConfig{
					MaxUnavailable: ptr.To(intstr.FromString("100%")), MaxSurge: ptr.To(intstr.FromString("100%")),
					UnavailablePeriodSeconds: ptr.To(0),
				}},
		}}
	snap := &placementv1beta1.ClusterResourceSnapshot{ObjectMeta: metav1.ObjectMeta{
		Name: placementv1beta1.ResourceSnapshotName(name, 0),
		Labels: map[string]string{placementv1beta1.CRPTrackingLabel: name, placementv1beta1.ResourceIndexLabel: "0",
			placementv1beta1.IsLatestSnapshotLabel: "true"},
		Annotations: map[string]string{placementv1beta1.NumberOfResourceSnapshotsAnnotation: "1", placementv1beta1.ResourceHashAnnotation: "h"},
	}}
	objs := []client.Object{crp, snap}
	for _, cl := range clusters {
		objs = append(objs, &placementv1beta1.ClusterResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Name: placementv1beta1.BindingName(name, cl), Labels: map[string]string{placementv1beta1.CRPTrackingLabel: name}},
			Spec: placementv1beta1.ResourceBindingSpec{State: placementv1beta1.BindingStateScheduled, TargetCluster: cl,
				SchedulingPolicySnapshotName: name + "-0",
				ClusterDecision:              placementv1beta1.ClusterDecision{ClusterName: cl, Selected: true, Reason: "test"}},
		})
	}
	// The hub refuses the first write to m2's binding, as an overloaded API server would.
	m2 := placementv1beta1.BindingName(name, "m2")
	var refusals atomic.Int32
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).
		WithStatusSubresource(&placementv1beta1.ClusterResourceBinding{}).
		WithInterceptorFuncs(interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if obj.GetName() == m2 && refusals.Add(1) == 1 {
				return apierrors.NewTooManyRequests("the hub is busy", 1)
			}
			return c.Patch(ctx, obj, patch, opts...)
		}}).Build()
	r := &rollout.Reconciler{Client: c, APIReader: c}
	req := reconcile.Request{NamespacedName: client.ObjectKey{Name: name}}

	bound := func() map[string]bool {
		var list placementv1beta1.ClusterResourceBindingList
		if err := c.List(ctx, &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, b := range list.Items {
			out[b.Spec.TargetCluster] = b.Spec.State == placementv1beta1.BindingStateBound && b.Spec.ResourceSnapshotName == snap.Name
		}
		return out
	}
	_, err := r.Reconcile(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "the hub is busy") {
		t.Fatalf("the step with a refused write returned %v, want the refusal", err)
	}
	if got := bound(); !got["m1"] || got["m2"] || !got["m3"] {
		t.Fatalf("after the refused write: bound %v, want m1 and m3 only", got)
	}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatalf("the next step: %v", err)
	}
	if got := bound(); !got["m1"] || !got["m2"] || !got["m3"] {
		t.Fatalf("after the next step: bound %v, want all", got)
	}
	var b placementv1beta1.ClusterResourceBinding
	if err := c.Get(ctx, client.ObjectKey{Name: m2}, &b); err != nil {
		t.Fatal(err)
	}
	if cond := meta.FindStatusCondition(b.Status.Conditions, string(placementv1beta1.ResourceRolloutStartedConditionType)); cond == nil || cond.Status != metav1.ConditionTrue {
		t.Fatalf("m2's RolloutStarted = %+v, want True", cond)
	}
}
