package placement

import (
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// greetingOn is the ConfigMap's greeting on each member that has it.
func greetingOn(g Gomega, ns string) map[string]string {
	out := map[string]string{}
	for _, m := range memberNames() {
		cm := &corev1.ConfigMap{}
		if err := memberClient(g, m).Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, cm); err == nil {
			out[m] = cm.Data["greeting"]
		}
	}
	return out
}

func stagedRun(name, placement, index, strategy string) *placementv1beta1.ClusterStagedUpdateRun {
	return &placementv1beta1.ClusterStagedUpdateRun{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: placementv1beta1.UpdateRunSpec{PlacementName: placement, ResourceSnapshotIndex: index,
			StagedUpdateStrategyName: strategy, State: placementv1beta1.UpdateRunStateRun}}
}

func runSucceeded(g Gomega, name string) *placementv1beta1.ClusterStagedUpdateRun {
	run := &placementv1beta1.ClusterStagedUpdateRun{}
	g.Eventually(func(g Gomega) {
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: name}, run)).To(Succeed())
		c := meta.FindStatusCondition(run.Status.Conditions, placementv1beta1.UpdateRunSucceededConditionType)
		g.Expect(c).NotTo(BeNil(), "run %s: %+v", name, run.Status.Conditions)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
	}, wait).Should(Succeed())
	return run
}

// approve sets an approval request's Approved condition through the status subresource, the
// one write `kubectl fleet approve clusterapprovalrequest NAME` makes.
func approve(g Gomega, name string) {
	ar := &placementv1beta1.ClusterApprovalRequest{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: name}, ar)).To(Succeed())
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []metav1.Condition{{
		Type: placementv1beta1.ApprovalRequestApprovedConditionType, Status: metav1.ConditionTrue, Reason: "ClusterApprovalRequestApproved",
		Message: "approved by the e2e test", ObservedGeneration: ar.Generation, LastTransitionTime: metav1.Now(),
	}}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fleet.Hub.Status().Patch(ctx, ar, client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

// TestStagedUpdateRun rolls an External placement out with ClusterStagedUpdateRuns: a first
// run places the ConfigMap everywhere; after the ConfigMap changes, a second run with a
// canary stage rolls the new snapshot to the canary member only, waits on its
// ClusterApprovalRequest, and, once that is approved through the API, rolls to the rest.
// The order is checked from the run's status.
func TestStagedUpdateRun(t *testing.T) {
	g := NewWithT(t)
	ms := memberNames()
	const key = "e2e-staged-env"
	for i, m := range ms {
		env := "prod"
		if i == 0 {
			env = "canary"
		}
		setLabel(g, m, key, ptr.To(env))
		t.Cleanup(func() { setLabel(NewWithT(t), m, key, nil) })
	}
	configApp(g, "staged")
	p := crp("staged", "staged", nil)
	p.Spec.Strategy.Type = placementv1beta1.ExternalRolloutStrategyType
	g.Expect(fleet.Hub.Create(ctx, p)).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, crp("staged", "", nil)) })

	// Without a run, the placement is scheduled and waits for an external controller.
	g.Eventually(func(g Gomega) {
		c := crpCondition(g, "staged", placementv1beta1.CRPRolloutStartedConditionType)
		g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(c.Reason).To(Equal("RolloutControlledByExternalController"))
	}, wait).Should(Succeed())
	g.Expect(greetingOn(g, "staged")).To(BeEmpty())

	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ClusterStagedUpdateStrategy{ObjectMeta: metav1.ObjectMeta{Name: "staged-all"},
		Spec: placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{{Name: "all",
			MaxConcurrency: ptr.To(intstr.FromString("100%"))}}}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ClusterStagedUpdateStrategy{ObjectMeta: metav1.ObjectMeta{Name: "staged-canary"},
		Spec: placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{
			{Name: "canary", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: "canary"}},
				AfterStageTasks: []placementv1beta1.StageTask{{Type: placementv1beta1.StageTaskTypeApproval}}},
			{Name: "prod", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: "prod"}},
				MaxConcurrency: ptr.To(intstr.FromInt32(2))},
		}}})).To(Succeed())
	t.Cleanup(func() {
		for _, n := range []string{"staged-all", "staged-canary"} {
			_ = fleet.Hub.Delete(ctx, &placementv1beta1.ClusterStagedUpdateStrategy{ObjectMeta: metav1.ObjectMeta{Name: n}})
		}
		for _, n := range []string{"staged-first", "staged-second"} {
			_ = fleet.Hub.Delete(ctx, &placementv1beta1.ClusterStagedUpdateRun{ObjectMeta: metav1.ObjectMeta{Name: n}})
		}
	})

	g.Expect(fleet.Hub.Create(ctx, stagedRun("staged-first", "staged", "0", "staged-all"))).To(Succeed())
	runSucceeded(g, "staged-first")
	g.Eventually(func(g Gomega) map[string]string { return greetingOn(g, "staged") }, wait).
		Should(Equal(map[string]string{ms[0]: "hello", ms[1]: "hello", ms[2]: "hello"}))

	// A new snapshot, index 1; the External placement leaves it to the next run.
	g.Eventually(func() error {
		cm := &corev1.ConfigMap{}
		if err := fleet.Hub.Get(ctx, client.ObjectKey{Namespace: "staged", Name: "settings"}, cm); err != nil {
			return err
		}
		cm.Data["greeting"] = "v2"
		return fleet.Hub.Update(ctx, cm)
	}, wait).Should(Succeed())
	g.Eventually(func(g Gomega) {
		var snaps placementv1beta1.ClusterResourceSnapshotList
		g.Expect(fleet.Hub.List(ctx, &snaps, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: "staged",
			placementv1beta1.ResourceIndexLabel: "1"})).To(Succeed())
		g.Expect(snaps.Items).NotTo(BeEmpty())
	}, wait).Should(Succeed())

	g.Expect(fleet.Hub.Create(ctx, stagedRun("staged-second", "staged", "1", "staged-canary"))).To(Succeed())
	const approval = "staged-second-after-canary"
	g.Eventually(func(g Gomega) {
		ar := &placementv1beta1.ClusterApprovalRequest{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: approval}, ar)).To(Succeed())
		g.Expect(ar.Spec).To(Equal(placementv1beta1.ApprovalRequestSpec{TargetUpdateRun: "staged-second", TargetStage: "canary"}))
		g.Expect(ar.Labels).To(HaveKeyWithValue(placementv1beta1.TargetUpdateRunLabel, "staged-second"))
	}, wait).Should(Succeed())
	// Waiting on the approval: the canary has the new snapshot, the rest the old one.
	g.Eventually(func(g Gomega) map[string]string { return greetingOn(g, "staged") }, wait).
		Should(Equal(map[string]string{ms[0]: "v2", ms[1]: "hello", ms[2]: "hello"}))
	run := &placementv1beta1.ClusterStagedUpdateRun{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: "staged-second"}, run)).To(Succeed())
	progressing := meta.FindStatusCondition(run.Status.Conditions, placementv1beta1.UpdateRunProgressingConditionType)
	g.Expect(progressing).NotTo(BeNil())
	g.Expect(progressing.Reason).To(Equal(placementv1beta1.UpdateRunWaitingReason), progressing.Message)
	g.Expect(run.Status.StagesStatus[1].StartTime).To(BeNil(), "the prod stage started before the approval")

	approved := time.Now()
	approve(g, approval)
	run = runSucceeded(g, "staged-second")
	g.Eventually(func(g Gomega) map[string]string { return greetingOn(g, "staged") }, wait).
		Should(Equal(map[string]string{ms[0]: "v2", ms[1]: "v2", ms[2]: "v2"}))

	// The order, from the run's status.
	canary, prod := run.Status.StagesStatus[0], run.Status.StagesStatus[1]
	g.Expect(canary.Clusters).To(HaveLen(1))
	g.Expect(canary.Clusters[0].ClusterName).To(Equal(ms[0]))
	g.Expect(prod.Clusters).To(HaveLen(2))
	canaryDone := meta.FindStatusCondition(canary.Clusters[0].Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType)
	g.Expect(canaryDone).NotTo(BeNil())
	g.Expect(canary.EndTime).NotTo(BeNil())
	g.Expect(prod.StartTime).NotTo(BeNil())
	g.Expect(canaryDone.LastTransitionTime.Time).NotTo(BeTemporally(">", prod.StartTime.Time), "the canary finished after prod started")
	// Times are kept to the second; the prod stage cannot have started before the approval.
	g.Expect(prod.StartTime.Time).To(BeTemporally(">=", approved.Truncate(time.Second)))
	g.Expect(canary.EndTime.Time).NotTo(BeTemporally(">", prod.StartTime.Time))
	for _, c := range prod.Clusters {
		started := meta.FindStatusCondition(c.Conditions, placementv1beta1.ClusterUpdatingStartedConditionType)
		g.Expect(started).NotTo(BeNil())
		g.Expect(started.LastTransitionTime.Time).NotTo(BeTemporally("<", prod.StartTime.Time))
	}
	after := canary.AfterStageTaskStatus[0]
	g.Expect(after.ApprovalRequestName).To(Equal(approval))
	g.Expect(meta.IsStatusConditionTrue(after.Conditions, placementv1beta1.StageTaskApprovalRequestApprovedConditionType)).To(BeTrue())
	g.Eventually(func(g Gomega) {
		ar := &placementv1beta1.ClusterApprovalRequest{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: approval}, ar)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(ar.Status.Conditions, placementv1beta1.ApprovalRequestApprovalAcceptedConditionType)).To(BeTrue())
	}, wait).Should(Succeed())
	availableOn(g, "staged", ms...)
}
