package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	inventory "github.com/flotilla-dev/flotilla/api/clusterinventory/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/hub/clusterprofile"
	"github.com/flotilla-dev/flotilla/internal/hub/membership"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// The tests of this file share one fleet and run in order: the last two remove members.

const wait = 60 * time.Second

func member(g Gomega, name string) *clusterv1beta1.MemberCluster {
	mc := &clusterv1beta1.MemberCluster{}
	g.Expect(fleet.Hub.Get(context.Background(), client.ObjectKey{Name: name}, mc)).To(Succeed())
	return mc
}

func conditionOf(mc *clusterv1beta1.MemberCluster, t string) metav1.Condition {
	if c := meta.FindStatusCondition(mc.Status.Conditions, t); c != nil {
		return *c
	}
	return metav1.Condition{Type: t, Status: "<missing>"}
}

func TestThreeMembersJoin(t *testing.T) {
	g := NewWithT(t)
	g.Expect(fleet.WaitJoined(context.Background(), wait)).To(Succeed())
	for i, m := range fleet.Members {
		mc := member(g, m.Name)
		g.Expect(conditionOf(mc, clusterv1beta1.ConditionReadyToJoin).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(conditionOf(mc, clusterv1beta1.ConditionJoined).Reason).To(Equal(membership.ReasonJoined))
		region := localfleet.RegionOf(i + 1)
		g.Expect(mc.Labels).To(HaveKeyWithValue(clusterv1beta1.LocationLabel, region))
		g.Expect(mc.Labels).To(HaveKeyWithValue(clusterv1beta1.RegionLabel, region))
		g.Expect(mc.Labels).To(HaveKey(clusterv1beta1.ResourceGroupLabel))
		g.Expect(mc.Labels).To(HaveKey(clusterv1beta1.SubscriptionIDLabel))
		g.Eventually(func(g Gomega) {
			mc := member(g, m.Name)
			g.Expect(mc.Status.Properties[clusterv1beta1.PropertyNodeCount].Value).To(Equal("3"))
			g.Expect(mc.Status.Properties[clusterv1beta1.PropertyKubernetesVersion].Value).To(Equal(localfleet.KubeVersion))
			g.Expect(mc.Status.Properties[clusterv1beta1.PropertyAllocatableCPU].Value).To(Equal("20"))
			ok, reason := eligibility.Eligible(mc, time.Now())
			g.Expect(ok).To(BeTrue(), reason)
		}, wait, 200*time.Millisecond).Should(Succeed())
	}
	g.Expect([]string{localfleet.RegionOf(1), localfleet.RegionOf(2), localfleet.RegionOf(3)}).
		To(Equal([]string{"eastus", "westus", "westeurope"}))
}

func TestHeartbeatAdvances(t *testing.T) {
	g := NewWithT(t)
	heartbeat := func(g Gomega) time.Time {
		agent := eligibility.AgentStatusOf(member(g, "member-2").Status.AgentStatus, clusterv1beta1.MemberAgent)
		g.Expect(agent).NotTo(BeNil())
		return agent.LastReceivedHeartbeat.Time
	}
	first := heartbeat(g)
	g.Eventually(func(g Gomega) {
		g.Expect(heartbeat(g)).To(BeTemporally(">", first))
	}, wait, 200*time.Millisecond).Should(Succeed())
}

// TestIdentityIsolation checks that member-1's own hub identity works in fleet-member-1
// and is refused in fleet-member-2 and at the cluster scope.
func TestIdentityIsolation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	agent1, err := client.New(fleet.AgentConfigs["member-1"], client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())

	own := &clusterv1beta1.InternalMemberCluster{}
	g.Expect(agent1.Get(ctx, client.ObjectKey{Namespace: "fleet-member-member-1", Name: "member-1"}, own)).To(Succeed())

	err = agent1.Get(ctx, client.ObjectKey{Namespace: "fleet-member-member-2", Name: "member-2"}, &clusterv1beta1.InternalMemberCluster{})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "reading member-2's IMC: %v", err)
	g.Expect(err.Error()).To(ContainSubstring("system:serviceaccount:fleet-system:member-1-agent"))

	other := &clusterv1beta1.InternalMemberCluster{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: "fleet-member-member-2", Name: "member-2"}, other)).To(Succeed())
	before := other.DeepCopy()
	other.Status.Properties = map[clusterv1beta1.PropertyName]clusterv1beta1.PropertyValue{"forged": {Value: "1", ObservationTime: metav1.Now()}}
	err = agent1.Status().Patch(ctx, other, client.MergeFrom(before))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "writing member-2's IMC status: %v", err)

	err = agent1.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "fleet-member-member-2"}})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "creating in fleet-member-2: %v", err)

	err = agent1.List(ctx, &clusterv1beta1.MemberClusterList{})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "listing memberclusters: %v", err)

	// Its own spec is the hub's to write, not the agent's.
	before = own.DeepCopy()
	own.Spec.State = clusterv1beta1.ClusterStateLeave
	err = agent1.Patch(ctx, own, client.MergeFrom(before))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "writing its own IMC spec: %v", err)
}

func TestHealthyGoesFalseWhenTheMemberAPIServerStops(t *testing.T) {
	g := NewWithT(t)
	m := fleet.Member("member-3")
	m.StopAPIServer()
	restarted := false
	defer func() {
		if !restarted {
			_ = m.StartAPIServer(context.Background())
		}
	}()
	g.Eventually(func(g Gomega) {
		healthy := conditionOf(member(g, "member-3"), clusterv1beta1.ConditionHealthy)
		g.Expect(healthy.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(healthy.Reason).To(Equal(membership.ReasonUnhealthy))
		g.Expect(healthy.Message).To(ContainSubstring("/readyz"))
	}, wait, 200*time.Millisecond).Should(Succeed())
	// Joined stays true: the agent still reaches the hub.
	g.Expect(conditionOf(member(g, "member-3"), clusterv1beta1.ConditionJoined).Status).To(Equal(metav1.ConditionTrue))

	g.Expect(m.StartAPIServer(context.Background())).To(Succeed())
	restarted = true
	g.Eventually(func(g Gomega) {
		g.Expect(conditionOf(member(g, "member-3"), clusterv1beta1.ConditionHealthy).Status).To(Equal(metav1.ConditionTrue))
	}, wait, 200*time.Millisecond).Should(Succeed())
}

func TestLeaveKeepsTheMembersObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := fleet.Member("member-2")
	onMember, err := client.New(m.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	keep := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep-me", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	g.Expect(onMember.Create(ctx, keep)).To(Succeed())

	g.Expect(fleet.Hub.Delete(ctx, member(g, "member-2"))).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(fleet.Hub.Get(ctx, client.ObjectKey{Name: "member-2"}, &clusterv1beta1.MemberCluster{}))
	}, wait, 200*time.Millisecond).Should(BeTrue())
	g.Expect(apierrors.IsNotFound(fleet.Hub.Get(ctx, client.ObjectKey{Name: "fleet-member-member-2"}, &corev1.Namespace{}))).To(BeTrue())
	// Its cluster inventory profile goes with it.
	g.Eventually(func() bool {
		return apierrors.IsNotFound(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: clusterprofile.Namespace, Name: "member-2"}, &inventory.ClusterProfile{}))
	}, wait, 200*time.Millisecond).Should(BeTrue())

	got := &corev1.ConfigMap{}
	g.Expect(onMember.Get(ctx, client.ObjectKeyFromObject(keep), got)).To(Succeed())
	g.Expect(got.Data).To(Equal(keep.Data))
	nodes := &corev1.NodeList{}
	g.Expect(onMember.List(ctx, nodes)).To(Succeed())
	g.Expect(nodes.Items).To(HaveLen(3))
}

func TestForceDeleteWhenTheAgentIsGone(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	fleet.StopAgent("member-1")
	deleted := time.Now()
	g.Expect(fleet.Hub.Delete(ctx, member(g, "member-1"))).To(Succeed())

	// The hub tells the agent to leave and waits for it.
	g.Eventually(func(g Gomega) {
		imc := &clusterv1beta1.InternalMemberCluster{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: "fleet-member-member-1", Name: "member-1"}, imc)).To(Succeed())
		g.Expect(imc.Spec.State).To(Equal(clusterv1beta1.ClusterStateLeave))
	}, wait, 100*time.Millisecond).Should(Succeed())

	g.Eventually(func() bool {
		return apierrors.IsNotFound(fleet.Hub.Get(ctx, client.ObjectKey{Name: "member-1"}, &clusterv1beta1.MemberCluster{}))
	}, wait, 200*time.Millisecond).Should(BeTrue())
	g.Expect(time.Since(deleted)).To(BeNumerically(">=", forceDeleteWait), "removed before the force wait was over")
	events := &corev1.EventList{}
	g.Expect(fleet.Hub.List(ctx, events)).To(Succeed())
	g.Expect(events.Items).To(ContainElement(And(HaveField("Reason", "ForceDeleted"), HaveField("InvolvedObject.Name", "member-1"))))
}
