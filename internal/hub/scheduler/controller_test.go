package scheduler_test

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/placementtest"
)

var (
	fleet *localfleet.Fleet
	c     client.Client
)

func TestMain(m *testing.M) { testenv.Main(m, 0, &fleet) }

var started bool

// setup starts the scheduler once for the package and creates the members.
func setup(t *testing.T, members ...placementtest.Member) {
	t.Helper()
	if !started {
		placementtest.StartManager(&testing.T{}, fleet.Hub.Config, placementtest.Scheduler)
		c = placementtest.Client(t, fleet.Hub.Config)
		started = true
	}
	for _, m := range members {
		if err := placementtest.CreateMember(context.Background(), c, m); err != nil {
			t.Fatal(err)
		}
	}
}

// place creates a placement and its policy snapshot by hand, as the placement controller
// would, so that this package tests the scheduler alone.
func place(t *testing.T, name string, policy *placementv1beta1.PlacementPolicy) {
	t.Helper()
	ctx := context.Background()
	crp := &placementv1beta1.ClusterResourcePlacement{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "app"}},
			Policy:            policy,
		},
	}
	if err := c.Create(ctx, crp); err != nil {
		t.Fatal(err)
	}
	snap := &placementv1beta1.ClusterSchedulingPolicySnapshot{
		ObjectMeta: metav1.ObjectMeta{
			Name: placementv1beta1.PolicySnapshotName(name, 0),
			Labels: map[string]string{placementv1beta1.CRPTrackingLabel: name, placementv1beta1.PolicyIndexLabel: "0",
				placementv1beta1.IsLatestSnapshotLabel: "true"},
			Annotations: map[string]string{placementv1beta1.CRPGenerationAnnotation: "1"},
		},
		Spec: placementv1beta1.SchedulingPolicySnapshotSpec{Policy: policy, PolicyHash: []byte("h")},
	}
	if policy != nil && policy.NumberOfClusters != nil {
		snap.Annotations[placementv1beta1.NumberOfClustersAnnotation] = strconv.Itoa(int(*policy.NumberOfClusters))
	}
	if err := c.Create(ctx, snap); err != nil {
		t.Fatal(err)
	}
}

// bound returns the clusters of the placement's active bindings, sorted.
func bound(g Gomega, crp string) []string {
	list := &placementv1beta1.ClusterResourceBindingList{}
	g.Expect(c.List(context.Background(), list, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: crp})).To(Succeed())
	var out []string
	for _, b := range list.Items {
		if b.Spec.State != placementv1beta1.BindingStateUnscheduled {
			out = append(out, b.Spec.TargetCluster)
		}
	}
	sort.Strings(out)
	return out
}

func scheduledCondition(g Gomega, crp string) (metav1.Condition, []placementv1beta1.ClusterDecision) {
	snap := &placementv1beta1.ClusterSchedulingPolicySnapshot{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Name: placementv1beta1.PolicySnapshotName(crp, 0)}, snap)).To(Succeed())
	cond := meta.FindStatusCondition(snap.Status.Conditions, placementv1beta1.PolicySnapshotScheduledConditionType)
	g.Expect(cond).NotTo(BeNil())
	return *cond, snap.Status.ClusterDecisions
}

func decisionFor(ds []placementv1beta1.ClusterDecision, name string) *placementv1beta1.ClusterDecision {
	for i := range ds {
		if ds[i].ClusterName == name {
			return &ds[i]
		}
	}
	return nil
}

func labelsTerm(ls map[string]string) *placementv1beta1.Affinity {
	return &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &placementv1beta1.ClusterSelector{
			ClusterSelectorTerms: []placementv1beta1.ClusterSelectorTerm{{LabelSelector: &metav1.LabelSelector{MatchLabels: ls}}}}}}
}

const wait = 20 * time.Second

func TestPickAllWithLabelsTaintsAndHealth(t *testing.T) {
	setup(t,
		placementtest.Member{Name: "all-1", Labels: map[string]string{"suite": "all", "env": "prod"}},
		placementtest.Member{Name: "all-2", Labels: map[string]string{"suite": "all", "env": "prod"}},
		placementtest.Member{Name: "all-3", Labels: map[string]string{"suite": "all", "env": "dev"}},
		placementtest.Member{Name: "all-4", Labels: map[string]string{"suite": "all", "env": "prod"}, Stale: true},
		placementtest.Member{Name: "all-5", Labels: map[string]string{"suite": "all", "env": "prod"},
			Taints: []clusterv1beta1.Taint{{Key: "dedicated", Value: "gpu", Effect: "NoSchedule"}}},
	)
	place(t, "pickall", &placementv1beta1.PlacementPolicy{Affinity: labelsTerm(map[string]string{"suite": "all", "env": "prod"})})
	g := NewWithT(t)
	g.Eventually(func(g Gomega) []string { return bound(g, "pickall") }, wait).Should(Equal([]string{"all-1", "all-2"}))
	g.Eventually(func(g Gomega) {
		cond, ds := scheduledCondition(g, "pickall")
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cond.Reason).To(Equal(placementv1beta1.SchedulingPolicyFulfilledReason))
		g.Expect(decisionFor(ds, "all-1").Selected).To(BeTrue())
		g.Expect(decisionFor(ds, "all-4").Reason).To(ContainSubstring("heartbeat"))
		g.Expect(decisionFor(ds, "all-5").Reason).To(ContainSubstring("taint dedicated=gpu:NoSchedule"))
	}, wait).Should(Succeed())

	// A taint on a placed member does not evict; relabeling one moves the placement.
	ctx := context.Background()
	g.Expect(placementtest.CreateMember(ctx, c, placementtest.Member{Name: "all-1", Labels: map[string]string{"suite": "all", "env": "prod"},
		Taints: []clusterv1beta1.Taint{{Key: "maintenance", Effect: "NoSchedule"}}})).To(Succeed())
	g.Expect(placementtest.CreateMember(ctx, c, placementtest.Member{Name: "all-2", Labels: map[string]string{"suite": "all", "env": "dev"}})).To(Succeed())
	g.Expect(placementtest.CreateMember(ctx, c, placementtest.Member{Name: "all-3", Labels: map[string]string{"suite": "all", "env": "prod"}})).To(Succeed())
	g.Eventually(func(g Gomega) []string { return bound(g, "pickall") }, wait).Should(Equal([]string{"all-1", "all-3"}))
	g.Consistently(func(g Gomega) []string { return bound(g, "pickall") }, 2*time.Second).Should(Equal([]string{"all-1", "all-3"}))

	// The binding of all-2 is Unscheduled, not deleted: the rollout removes it once its work is gone.
	b := &placementv1beta1.ClusterResourceBinding{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: placementv1beta1.BindingName("pickall", "all-2")}, b)).To(Succeed())
	g.Expect(b.Spec.State).To(Equal(placementv1beta1.BindingStateUnscheduled))
	g.Expect(b.OwnerReferences).To(HaveLen(1))
	g.Expect(b.OwnerReferences[0].Name).To(Equal("pickall"))
}

func TestPickNScoresScalesAndReschedules(t *testing.T) {
	nodes := func(n int) map[string]string {
		return map[string]string{"kubernetes-fleet.io/node-count": strconv.Itoa(n)}
	}
	setup(t,
		placementtest.Member{Name: "n-1", Labels: map[string]string{"suite": "n"}, Properties: nodes(1)},
		placementtest.Member{Name: "n-2", Labels: map[string]string{"suite": "n"}, Properties: nodes(8)},
		placementtest.Member{Name: "n-3", Labels: map[string]string{"suite": "n"}, Properties: nodes(4)},
		placementtest.Member{Name: "n-4", Labels: map[string]string{"suite": "n"}, Properties: nodes(4)},
		placementtest.Member{Name: "n-5", Labels: map[string]string{"suite": "n"}, Properties: nodes(2)},
	)
	policy := &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(int32(2)),
		Affinity: labelsTerm(map[string]string{"suite": "n"})}
	policy.Affinity.ClusterAffinity.RequiredDuringSchedulingIgnoredDuringExecution.ClusterSelectorTerms[0].PropertySelector =
		&placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{
			{Name: "kubernetes-fleet.io/node-count", Operator: placementv1beta1.PropertySelectorGreaterThanOrEqualTo, Values: []string{"2"}}}}
	policy.Affinity.ClusterAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []placementv1beta1.PreferredClusterSelector{{Weight: 100,
		Preference: placementv1beta1.ClusterSelectorTerm{PropertySorter: &placementv1beta1.PropertySorter{Name: "kubernetes-fleet.io/node-count", SortOrder: placementv1beta1.Descending}}}}
	place(t, "pickn", policy)
	g := NewWithT(t)
	// The most nodes first; n-3 and n-4 tie, and the name breaks the tie.
	g.Eventually(func(g Gomega) []string { return bound(g, "pickn") }, wait).Should(Equal([]string{"n-2", "n-3"}))

	scale := func(n int) {
		snap := &placementv1beta1.ClusterSchedulingPolicySnapshot{ObjectMeta: metav1.ObjectMeta{Name: "pickn-0"}}
		patch := `{"metadata":{"annotations":{"` + placementv1beta1.NumberOfClustersAnnotation + `":"` + strconv.Itoa(n) + `"}}}`
		g.Expect(c.Patch(context.Background(), snap, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
	}
	scale(3)
	g.Eventually(func(g Gomega) []string { return bound(g, "pickn") }, wait).Should(Equal([]string{"n-2", "n-3", "n-4"}))
	scale(1)
	g.Eventually(func(g Gomega) []string { return bound(g, "pickn") }, wait).Should(Equal([]string{"n-2"}))

	// n-2 stops sending heartbeats: PickN moves to the next best.
	g.Expect(placementtest.CreateMember(context.Background(), c, placementtest.Member{Name: "n-2", Labels: map[string]string{"suite": "n"}, Properties: nodes(8), Stale: true})).To(Succeed())
	g.Eventually(func(g Gomega) []string { return bound(g, "pickn") }, wait).Should(Equal([]string{"n-3"}))

	// Wanting more than fit: Unfulfilled, yet placed on all that fit (n-1 has too few nodes).
	scale(5)
	g.Eventually(func(g Gomega) []string { return bound(g, "pickn") }, wait).Should(Equal([]string{"n-3", "n-4", "n-5"}))
	g.Eventually(func(g Gomega) {
		cond, ds := scheduledCondition(g, "pickn")
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(placementv1beta1.SchedulingPolicyUnfulfilledReason))
		g.Expect(cond.Message).To(ContainSubstring("wants 5 cluster(s) but only 3 fit"))
		g.Expect(decisionFor(ds, "n-1").Reason).To(ContainSubstring("kubernetes-fleet.io/node-count is 1, not Ge 2"))
		g.Expect(*decisionFor(ds, "n-3").ClusterScore.AffinityScore).To(BeNumerically(">", *decisionFor(ds, "n-5").ClusterScore.AffinityScore))
	}, wait).Should(Succeed())
}

func TestPickNTopologySpread(t *testing.T) {
	region := func(r string) map[string]string { return map[string]string{"suite": "spread", "region": r} }
	setup(t,
		placementtest.Member{Name: "s-a1", Labels: region("a")},
		placementtest.Member{Name: "s-a2", Labels: region("a")},
		placementtest.Member{Name: "s-a3", Labels: region("a")},
		placementtest.Member{Name: "s-b1", Labels: region("b")},
		placementtest.Member{Name: "s-c1", Labels: region("c")},
	)
	place(t, "spread", &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(int32(3)),
		Affinity:                  labelsTerm(map[string]string{"suite": "spread"}),
		TopologySpreadConstraints: []placementv1beta1.TopologySpreadConstraint{{MaxSkew: ptr.To(int32(1)), TopologyKey: "region", WhenUnsatisfiable: placementv1beta1.DoNotSchedule}}})
	g := NewWithT(t)
	g.Eventually(func(g Gomega) []string { return bound(g, "spread") }, wait).Should(Equal([]string{"s-a1", "s-b1", "s-c1"}))
}

func TestPickFixedRealAndUnknownNames(t *testing.T) {
	setup(t, placementtest.Member{Name: "fixed-1", Labels: map[string]string{"suite": "fixed"},
		Taints: []clusterv1beta1.Taint{{Key: "dedicated", Effect: "NoSchedule"}}},
		placementtest.Member{Name: "fixed-2", Labels: map[string]string{"suite": "fixed"}, Stale: true})
	place(t, "fixed", &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickFixedPlacementType,
		ClusterNames: []string{"fixed-1", "fixed-2", "nowhere"}})
	g := NewWithT(t)
	g.Eventually(func(g Gomega) []string { return bound(g, "fixed") }, wait).Should(Equal([]string{"fixed-1"}))
	g.Eventually(func(g Gomega) {
		cond, ds := scheduledCondition(g, "fixed")
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(placementv1beta1.SchedulingPolicyUnfulfilledReason))
		g.Expect(decisionFor(ds, "nowhere").Reason).To(ContainSubstring("no member cluster named nowhere"))
		g.Expect(decisionFor(ds, "fixed-2").Reason).To(ContainSubstring("not eligible"))
	}, wait).Should(Succeed())

	// The scheduler holds the placement until its bindings are gone; a binding held by a
	// finalizer (as the work generator's) holds the placement too.
	ctx := context.Background()
	crp := &placementv1beta1.ClusterResourcePlacement{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "fixed"}, crp)).To(Succeed())
	g.Expect(crp.Finalizers).To(ContainElement(placementv1beta1.SchedulerCleanupFinalizer))
	b := &placementv1beta1.ClusterResourceBinding{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: placementv1beta1.BindingName("fixed", "fixed-1")}, b)).To(Succeed())
	b.Finalizers = append(b.Finalizers, "test.flotilla.dev/hold")
	g.Expect(c.Update(ctx, b)).To(Succeed())
	g.Expect(c.Delete(ctx, crp)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		g.Expect(b.DeletionTimestamp).NotTo(BeNil())
	}, wait).Should(Succeed())
	g.Consistently(func() error {
		return c.Get(ctx, client.ObjectKey{Name: "fixed"}, &placementv1beta1.ClusterResourcePlacement{})
	}, "1s").Should(Succeed())
	g.Eventually(func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		b.Finalizers = nil
		return c.Update(ctx, b)
	}, wait).Should(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "fixed"}, &placementv1beta1.ClusterResourcePlacement{}))
	}, wait).Should(BeTrue())
}
