package placement_test

import (
	"sort"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/testenv/placementtest"
)

func members(t *testing.T, suite string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := placementtest.CreateMember(ctx, c, placementtest.Member{Name: n, Labels: map[string]string{"suite": suite}}); err != nil {
			t.Fatal(err)
		}
	}
}

func suiteAffinity(suite string) *placementv1beta1.Affinity {
	return &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &placementv1beta1.ClusterSelector{ClusterSelectorTerms: []placementv1beta1.ClusterSelectorTerm{
			{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"suite": suite}}}}}}}
}

func bindingsOf(g Gomega, crp string) []placementv1beta1.ClusterResourceBinding {
	list := &placementv1beta1.ClusterResourceBindingList{}
	g.Expect(c.List(ctx, list, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: crp})).To(Succeed())
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Spec.TargetCluster < list.Items[j].Spec.TargetCluster })
	return list.Items
}

// report writes a binding's conditions as the work generator would, for its current
// generation.
func report(g Gomega, crp, cluster string, conds map[placementv1beta1.ResourceConditionType]metav1.ConditionStatus, failed ...placementv1beta1.FailedResourcePlacement) {
	g.Eventually(func() error {
		b := &placementv1beta1.ClusterResourceBinding{}
		if err := c.Get(ctx, client.ObjectKey{Name: placementv1beta1.BindingName(crp, cluster)}, b); err != nil {
			return err
		}
		for t, s := range conds {
			reason := "Test" + string(s)
			if t == placementv1beta1.ResourcesAppliedConditionType && s == metav1.ConditionFalse {
				reason = placementv1beta1.ApplyFailedReason
			}
			meta.SetStatusCondition(&b.Status.Conditions, metav1.Condition{Type: string(t), Status: s, Reason: reason,
				Message: "set by the test", ObservedGeneration: b.Generation})
		}
		b.Status.FailedPlacements = failed
		return c.Status().Update(ctx, b)
	}, wait).Should(Succeed())
}

func conditionTypes(conds []metav1.Condition) []string {
	var out []string
	for _, c := range conds {
		out = append(out, c.Type+"="+string(c.Status))
	}
	return out
}

func TestStatusFollowsBindingsInOrder(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	members(t, "status", "st-1", "st-2")
	namespaceWithApp(t, "status-app", nil)
	g.Expect(c.Create(ctx, newCRP("status", []placementv1beta1.ClusterResourceSelector{nsSel("status-app")},
		&placementv1beta1.PlacementPolicy{Affinity: suiteAffinity("status")}))).To(Succeed())

	// The rollout binds both to the latest snapshot and says so; the rest waits for the
	// work generator.
	g.Eventually(func(g Gomega) {
		bs := bindingsOf(g, "status")
		g.Expect(bs).To(HaveLen(2))
		for _, b := range bs {
			g.Expect(b.Spec.State).To(Equal(placementv1beta1.BindingStateBound))
			g.Expect(b.Spec.ResourceSnapshotName).To(Equal("status-0-snapshot"))
			g.Expect(b.Spec.ApplyStrategy).NotTo(BeNil())
			g.Expect(b.Spec.ApplyStrategy.Type).To(Equal(placementv1beta1.ApplyStrategyTypeClientSideApply))
		}
		crp := getCRP(g, "status")
		g.Expect(conditionTypes(crp.Status.Conditions)).To(Equal([]string{
			"ClusterResourcePlacementScheduled=True", "ClusterResourcePlacementRolloutStarted=True",
			"ClusterResourcePlacementOverridden=True", "ClusterResourcePlacementWorkSynchronized=Unknown"}))
		g.Expect(crp.Status.Conditions[2].Reason).To(Equal(placementv1beta1.OverrideNotSpecifiedReason))
		g.Expect(crp.Status.PlacementStatuses).To(HaveLen(2))
		g.Expect(crp.Status.PlacementStatuses[0].ClusterName).To(Equal("st-1"))
		g.Expect(crp.Status.PlacementStatuses[0].ObservedResourceIndex).To(Equal("0"))
	}, wait).Should(Succeed())

	all := map[placementv1beta1.ResourceConditionType]metav1.ConditionStatus{
		placementv1beta1.ResourceWorkSynchronizedConditionType: metav1.ConditionTrue,
		placementv1beta1.ResourcesAppliedConditionType:         metav1.ConditionTrue,
		placementv1beta1.ResourcesAvailableConditionType:       metav1.ConditionTrue,
	}
	report(g, "status", "st-1", all)
	failedCM := placementv1beta1.FailedResourcePlacement{
		ResourceIdentifier: placementv1beta1.ResourceIdentifier{Version: "v1", Kind: "ConfigMap", Namespace: "status-app", Name: "settings"},
		Condition:          metav1.Condition{Type: "Applied", Status: metav1.ConditionFalse, Reason: "ApplyFailed", Message: "boom", LastTransitionTime: metav1.Now()},
	}
	report(g, "status", "st-2", map[placementv1beta1.ResourceConditionType]metav1.ConditionStatus{
		placementv1beta1.ResourceWorkSynchronizedConditionType: metav1.ConditionTrue,
		placementv1beta1.ResourcesAppliedConditionType:         metav1.ConditionFalse,
	}, failedCM)
	g.Eventually(func(g Gomega) {
		crp := getCRP(g, "status")
		g.Expect(conditionTypes(crp.Status.Conditions)).To(Equal([]string{
			"ClusterResourcePlacementScheduled=True", "ClusterResourcePlacementRolloutStarted=True",
			"ClusterResourcePlacementOverridden=True", "ClusterResourcePlacementWorkSynchronized=True",
			"ClusterResourcePlacementApplied=False"}))
		applied := crp.Status.Conditions[4]
		g.Expect(applied.Reason).To(Equal(placementv1beta1.ApplyFailedReason))
		g.Expect(applied.Message).To(ContainSubstring("st-2"))
		g.Expect(crp.Status.PlacementStatuses[1].FailedPlacements).To(HaveLen(1))
		g.Expect(crp.Status.PlacementStatuses[1].FailedPlacements[0].Name).To(Equal("settings"))
	}, wait).Should(Succeed())

	report(g, "status", "st-2", all)
	g.Eventually(func(g Gomega) {
		crp := getCRP(g, "status")
		g.Expect(conditionTypes(crp.Status.Conditions)).To(Equal([]string{
			"ClusterResourcePlacementScheduled=True", "ClusterResourcePlacementRolloutStarted=True",
			"ClusterResourcePlacementOverridden=True", "ClusterResourcePlacementWorkSynchronized=True",
			"ClusterResourcePlacementApplied=True", "ClusterResourcePlacementAvailable=True"}))
		for _, cond := range crp.Status.Conditions {
			g.Expect(cond.ObservedGeneration).To(Equal(crp.Generation))
		}
		g.Expect(conditionTypes(crp.Status.PlacementStatuses[1].Conditions)).To(Equal([]string{
			"Scheduled=True", "RolloutStarted=True", "Overridden=True", "WorkSynchronized=True", "Applied=True", "Available=True"}))
	}, wait).Should(Succeed())
}

func TestStatusOfUnfulfilledPolicies(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	members(t, "unfulfilled", "uf-1")
	namespaceWithApp(t, "uf-app", nil)
	g.Expect(c.Create(ctx, newCRP("uf-pickn", []placementv1beta1.ClusterResourceSelector{nsSel("uf-app")},
		&placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(int32(3)),
			Affinity: suiteAffinity("unfulfilled")}))).To(Succeed())
	g.Expect(c.Create(ctx, newCRP("uf-fixed", []placementv1beta1.ClusterResourceSelector{nsSel("uf-app")},
		&placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickFixedPlacementType, ClusterNames: []string{"uf-1", "uf-ghost"}}))).To(Succeed())
	g.Eventually(func(g Gomega) {
		crp := getCRP(g, "uf-pickn")
		g.Expect(crp.Status.Conditions).NotTo(BeEmpty())
		g.Expect(crp.Status.Conditions[0].Status).To(Equal(metav1.ConditionFalse))
		g.Expect(crp.Status.Conditions[0].Reason).To(Equal(placementv1beta1.SchedulingPolicyUnfulfilledReason))
		g.Expect(crp.Status.PlacementStatuses).To(HaveLen(3))
		g.Expect(crp.Status.PlacementStatuses[0].ClusterName).To(Equal("uf-1"))
		g.Expect(crp.Status.PlacementStatuses[1].ClusterName).To(BeEmpty())
		g.Expect(crp.Status.PlacementStatuses[1].Conditions[0].Reason).To(Equal(placementv1beta1.ResourceScheduleFailedReason))
	}, wait).Should(Succeed())
	g.Eventually(func(g Gomega) {
		crp := getCRP(g, "uf-fixed")
		g.Expect(crp.Status.PlacementStatuses).To(HaveLen(2))
		ghost := crp.Status.PlacementStatuses[1]
		g.Expect(ghost.ClusterName).To(Equal("uf-ghost"))
		g.Expect(ghost.Conditions[0].Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ghost.Conditions[0].Message).To(ContainSubstring("no member cluster named uf-ghost"))
	}, wait).Should(Succeed())
}

func TestExternalStrategyLeavesBindingsScheduled(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	members(t, "external", "ext-1")
	namespaceWithApp(t, "ext-app", nil)
	crp := newCRP("external", []placementv1beta1.ClusterResourceSelector{nsSel("ext-app")}, &placementv1beta1.PlacementPolicy{Affinity: suiteAffinity("external")})
	crp.Spec.Strategy.Type = placementv1beta1.ExternalRolloutStrategyType
	g.Expect(c.Create(ctx, crp)).To(Succeed())
	g.Eventually(func(g Gomega) []placementv1beta1.ClusterResourceBinding { return bindingsOf(g, "external") }, wait).Should(HaveLen(1))
	g.Consistently(func(g Gomega) placementv1beta1.BindingState { return bindingsOf(g, "external")[0].Spec.State }, "2s").
		Should(Equal(placementv1beta1.BindingStateScheduled))
	// With no run to move it, the placement and the member say who it waits for.
	g.Eventually(func(g Gomega) {
		crp := getCRP(g, "external")
		started := meta.FindStatusCondition(crp.Status.Conditions, string(placementv1beta1.CRPRolloutStartedConditionType))
		g.Expect(started).NotTo(BeNil())
		g.Expect(started.Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(started.Reason).To(Equal(placementv1beta1.RolloutControlledByExternalControllerReason))
		g.Expect(crp.Status.PlacementStatuses).To(HaveLen(1))
		member := meta.FindStatusCondition(crp.Status.PlacementStatuses[0].Conditions, string(placementv1beta1.ResourceRolloutStartedConditionType))
		g.Expect(member).NotTo(BeNil())
		g.Expect(member.Reason).To(Equal(placementv1beta1.RolloutControlledByExternalControllerReason))
	}, wait).Should(Succeed())
}

func TestRollingUpdateMovesOneAtATime(t *testing.T) {
	setup(t)
	g := NewWithT(t)
	members(t, "rolling", "ro-1", "ro-2", "ro-3")
	namespaceWithApp(t, "ro-app", nil)
	g.Expect(c.Create(ctx, newCRP("rolling", []placementv1beta1.ClusterResourceSelector{nsSel("ro-app")},
		&placementv1beta1.PlacementPolicy{Affinity: suiteAffinity("rolling")}))).To(Succeed())
	available := map[placementv1beta1.ResourceConditionType]metav1.ConditionStatus{placementv1beta1.ResourcesAvailableConditionType: metav1.ConditionTrue}
	g.Eventually(func(g Gomega) []placementv1beta1.ClusterResourceBinding { return bindingsOf(g, "rolling") }, wait).Should(HaveLen(3))
	g.Eventually(func(g Gomega) {
		for _, b := range bindingsOf(g, "rolling") {
			g.Expect(b.Spec.ResourceSnapshotName).To(Equal("rolling-0-snapshot"))
		}
	}, wait).Should(Succeed())
	for _, m := range []string{"ro-1", "ro-2", "ro-3"} {
		report(g, "rolling", m, available)
	}
	// A change: with 3 clusters and maxUnavailable 25% (at least 1), one cluster moves at a
	// time, and the next only once the first is available again.
	updateConfigMap(g, "ro-app", "settings", "v2")
	atNew := func(g Gomega) []string {
		var out []string
		for _, b := range bindingsOf(g, "rolling") {
			if b.Spec.ResourceSnapshotName == "rolling-1-snapshot" {
				out = append(out, b.Spec.TargetCluster)
			}
		}
		return out
	}
	g.Eventually(atNew, wait).Should(Equal([]string{"ro-1"}))
	g.Consistently(atNew, "1s").Should(Equal([]string{"ro-1"}))
	report(g, "rolling", "ro-1", available)
	g.Eventually(atNew, wait).Should(Equal([]string{"ro-1", "ro-2"}))
	report(g, "rolling", "ro-2", available)
	g.Eventually(atNew, wait).Should(Equal([]string{"ro-1", "ro-2", "ro-3"}))
	g.Eventually(func(g Gomega) string {
		b := bindingsOf(g, "rolling")[2]
		cond := meta.FindStatusCondition(b.Status.Conditions, string(placementv1beta1.ResourceRolloutStartedConditionType))
		g.Expect(cond).NotTo(BeNil())
		return string(cond.Status)
	}, wait).Should(Equal("True"))
}
