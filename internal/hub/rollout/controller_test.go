package rollout_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/placementtest"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 0, &fleet) }

const wait = 20 * time.Second

// objects creates a placement with a resource snapshot and bindings by hand, as the
// placement controller and the scheduler would, so that only the rollout acts on them.
func objects(t *testing.T, c client.Client, name string, strategy placementv1beta1.RolloutStrategyType, states map[string]placementv1beta1.BindingState) {
	t.Helper()
	ctx := context.Background()
	crp := &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "x"}},
			Strategy:          placementv1beta1.RolloutStrategy{Type: strategy},
		}}
	if err := c.Create(ctx, crp); err != nil {
		t.Fatal(err)
	}
	snap := &placementv1beta1.ClusterResourceSnapshot{ObjectMeta: metav1.ObjectMeta{
		Name: placementv1beta1.ResourceSnapshotName(name, 0),
		Labels: map[string]string{placementv1beta1.CRPTrackingLabel: name, placementv1beta1.ResourceIndexLabel: "0",
			placementv1beta1.IsLatestSnapshotLabel: "true"},
		Annotations: map[string]string{placementv1beta1.NumberOfResourceSnapshotsAnnotation: "1", placementv1beta1.ResourceHashAnnotation: "h"},
	}, Spec: placementv1beta1.ResourceSnapshotSpec{SelectedResources: []placementv1beta1.ResourceContent{}}}
	if err := c.Create(ctx, snap); err != nil {
		t.Fatal(err)
	}
	for cluster, state := range states {
		b := &placementv1beta1.ClusterResourceBinding{
			ObjectMeta: metav1.ObjectMeta{Name: placementv1beta1.BindingName(name, cluster), Labels: map[string]string{placementv1beta1.CRPTrackingLabel: name}},
			Spec: placementv1beta1.ResourceBindingSpec{State: state, TargetCluster: cluster, SchedulingPolicySnapshotName: name + "-0",
				ClusterDecision: placementv1beta1.ClusterDecision{ClusterName: cluster, Selected: true, Reason: "test"}},
		}
		if err := c.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRolloutBindsAndRemoves(t *testing.T) {
	placementtest.StartManager(t, fleet.Hub.Config, placementtest.Rollout)
	c := placementtest.Client(t, fleet.Hub.Config)
	ctx := context.Background()
	objects(t, c, "roll", placementv1beta1.RollingUpdateRolloutStrategyType, map[string]placementv1beta1.BindingState{
		"m1": placementv1beta1.BindingStateScheduled, "m2": placementv1beta1.BindingStateScheduled, "gone": placementv1beta1.BindingStateUnscheduled})
	objects(t, c, "ext", placementv1beta1.ExternalRolloutStrategyType, map[string]placementv1beta1.BindingState{
		"m1": placementv1beta1.BindingStateScheduled})
	g := NewWithT(t)
	for _, m := range []string{"m1", "m2"} {
		g.Eventually(func(g Gomega) {
			b := &placementv1beta1.ClusterResourceBinding{}
			g.Expect(c.Get(ctx, client.ObjectKey{Name: placementv1beta1.BindingName("roll", m)}, b)).To(Succeed())
			g.Expect(b.Spec.State).To(Equal(placementv1beta1.BindingStateBound))
			g.Expect(b.Spec.ResourceSnapshotName).To(Equal("roll-0-snapshot"))
			g.Expect(b.Spec.ApplyStrategy).NotTo(BeNil())
			g.Expect(b.Spec.ApplyStrategy.WhenToApply).To(Equal(placementv1beta1.WhenToApplyTypeAlways))
			started := meta.FindStatusCondition(b.Status.Conditions, string(placementv1beta1.ResourceRolloutStartedConditionType))
			g.Expect(started).NotTo(BeNil())
			g.Expect(started.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(started.ObservedGeneration).To(Equal(b.Generation))
			overridden := meta.FindStatusCondition(b.Status.Conditions, string(placementv1beta1.ResourceOverriddenConditionType))
			g.Expect(overridden).NotTo(BeNil())
			g.Expect(overridden.Reason).To(Equal(placementv1beta1.OverrideNotSpecifiedReason))
		}, wait).Should(Succeed())
	}
	// The unscheduled binding is deleted: nothing is available there to keep.
	g.Eventually(func() bool {
		err := c.Get(ctx, client.ObjectKey{Name: placementv1beta1.BindingName("roll", "gone")}, &placementv1beta1.ClusterResourceBinding{})
		return apierrors.IsNotFound(err)
	}, wait).Should(BeTrue())
	// External: left alone.
	g.Consistently(func(g Gomega) placementv1beta1.BindingState {
		b := &placementv1beta1.ClusterResourceBinding{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: placementv1beta1.BindingName("ext", "m1")}, b)).To(Succeed())
		g.Expect(b.Status.Conditions).To(BeEmpty())
		return b.Spec.State
	}, "2s").Should(Equal(placementv1beta1.BindingStateScheduled))
}
