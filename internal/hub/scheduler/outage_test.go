package scheduler_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/hub/scheduler"
	"github.com/flotilla-dev/flotilla/internal/testenv/placementtest"
)

// setHeartbeats moves the last heartbeat of every member in the hub for which pick is true:
// an hour back (stale) or to now (fresh). Nothing else of the status changes.
func setHeartbeats(g Gomega, stale bool, pick func(name string) bool) {
	ctx := context.Background()
	list := &clusterv1beta1.MemberClusterList{}
	g.Expect(c.List(ctx, list)).To(Succeed())
	for _, item := range list.Items {
		if !pick(item.Name) {
			continue
		}
		g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			mc := &clusterv1beta1.MemberCluster{}
			if err := c.Get(ctx, client.ObjectKey{Name: item.Name}, mc); err != nil {
				return err
			}
			agent := eligibility.AgentStatusOf(mc.Status.AgentStatus, clusterv1beta1.MemberAgent)
			if agent == nil {
				return nil
			}
			agent.LastReceivedHeartbeat = metav1.Now()
			if stale {
				agent.LastReceivedHeartbeat = metav1.NewTime(time.Now().Add(-time.Hour))
			}
			return c.Status().Update(ctx, mc)
		})).To(Succeed())
	}
}

// TestPickNStaysWhileTheWholeFleetLooksStale is the regression test for the hub outage
// that deleted placed resources: after the hub was out, every member's heartbeat looked
// stale at once and PickN moved its placement away. Now the placement stays, and the
// Scheduled condition says why; when only one member of several is really stale, PickN
// still moves away from it.
func TestPickNStaysWhileTheWholeFleetLooksStale(t *testing.T) {
	suite := map[string]string{"suite": "outage"}
	setup(t,
		placementtest.Member{Name: "out-1", Labels: suite},
		placementtest.Member{Name: "out-2", Labels: suite},
		placementtest.Member{Name: "out-3", Labels: suite},
	)
	place(t, "outage", &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType,
		NumberOfClusters: ptr.To(int32(1)), Affinity: labelsTerm(suite)})
	g := NewWithT(t)
	g.Eventually(func(g Gomega) []string { return bound(g, "outage") }, wait).Should(Equal([]string{"out-1"}))

	// The hub was out: every member of the fleet looks stale at once. The placed member's
	// heartbeat is aged last, so that the fleet never passes through "out-1 alone is stale".
	everyone := func(string) bool { return true }
	setHeartbeats(g, true, func(name string) bool { return name != "out-1" })
	setHeartbeats(g, true, func(name string) bool { return name == "out-1" })
	g.Eventually(func(g Gomega) {
		cond, _ := scheduledCondition(g, "outage")
		g.Expect(cond.Reason).To(Equal(scheduler.StaleClustersKeptReason))
		g.Expect(cond.Message).To(MatchRegexp(`(\d+) of \d+ joined member clusters look stale at once`))
		g.Expect(cond.Message).To(ContainSubstring("out-1 keep(s) it"))
	}, wait).Should(Succeed())
	g.Consistently(func(g Gomega) []string { return bound(g, "outage") }, 3*time.Second, 200*time.Millisecond).Should(Equal([]string{"out-1"}))

	// Heartbeats come back from every member but out-1: now out-1 alone is stale, and the
	// placement moves to the next member.
	setHeartbeats(g, false, func(name string) bool { return name != "out-1" })
	g.Eventually(func(g Gomega) []string { return bound(g, "outage") }, wait).Should(Equal([]string{"out-2"}))
	g.Eventually(func(g Gomega) {
		cond, _ := scheduledCondition(g, "outage")
		g.Expect(cond.Reason).To(Equal(placementv1beta1.SchedulingPolicyFulfilledReason))
	}, wait).Should(Succeed())
	setHeartbeats(g, false, everyone)
}
