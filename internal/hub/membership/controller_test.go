package membership_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub"
	"github.com/flotilla-dev/flotilla/internal/hub/membership"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

// forceDeleteWait is short so the force-delete test does not wait 15 minutes.
const forceDeleteWait = 4 * time.Second

// One member cluster, for the agent that runs as its own identity in the revocation test.
func TestMain(m *testing.M) { testenv.Main(m, 1, &fleet) }

// startHub runs the hub controllers for one test and returns an admin client of the hub.
func startHub(t *testing.T) client.Client {
	t.Helper()
	mgr, err := hub.NewManager(fleet.Hub.Config, hub.Options{ForceDeleteWait: forceDeleteWait})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub manager: %v", err)
		}
	})
	c, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newMember(name string) *clusterv1beta1.MemberCluster {
	return &clusterv1beta1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: clusterv1beta1.MemberClusterSpec{
			Identity:               rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: name + "-agent", Namespace: "fleet-system"},
			HeartbeatPeriodSeconds: 2,
		},
	}
}

func getIMC(g Gomega, c client.Client, name string) *clusterv1beta1.InternalMemberCluster {
	imc := &clusterv1beta1.InternalMemberCluster{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: name}, imc)).To(Succeed())
	return imc
}

func condition(g Gomega, c client.Client, name, t string) metav1.Condition {
	mc := &clusterv1beta1.MemberCluster{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Name: name}, mc)).To(Succeed())
	cond := meta.FindStatusCondition(mc.Status.Conditions, t)
	g.Expect(cond).NotTo(BeNil(), "no %s condition on %s", t, name)
	return *cond
}

// reportAgent writes the agent's side of the IMC status, as the member agent would.
func reportAgent(g Gomega, c client.Client, name string, joined metav1.ConditionStatus, heartbeat time.Time) {
	imc := getIMC(g, c, name)
	before := imc.DeepCopy()
	imc.Status.AgentStatus = []clusterv1beta1.AgentStatus{{
		Type:                  clusterv1beta1.MemberAgent,
		LastReceivedHeartbeat: metav1.NewTime(heartbeat),
		Conditions: []metav1.Condition{
			{Type: clusterv1beta1.ConditionJoined, Status: joined, Reason: "Test", ObservedGeneration: imc.Generation, LastTransitionTime: metav1.Now()},
			{Type: clusterv1beta1.ConditionHealthy, Status: metav1.ConditionTrue, Reason: "Test", Message: "fine", LastTransitionTime: metav1.Now()},
		},
	}}
	imc.Status.Properties = map[clusterv1beta1.PropertyName]clusterv1beta1.PropertyValue{
		clusterv1beta1.PropertyNodeCount: {Value: "7", ObservationTime: metav1.Now()},
	}
	g.Expect(c.Status().Patch(context.Background(), imc, client.MergeFrom(before))).To(Succeed())
}

func TestJoinCreatesTheMemberObjects(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	mc := newMember("join")
	g.Expect(c.Create(ctx, mc)).To(Succeed())
	ns := clusterv1beta1.NamespaceForMember("join")

	g.Eventually(func(g Gomega) {
		cond := condition(g, c, "join", clusterv1beta1.ConditionReadyToJoin)
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cond.Reason).To(Equal(membership.ReasonReadyToJoin))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
	g.Expect(mc.Finalizers).To(ContainElement(clusterv1beta1.MemberClusterFinalizer))
	g.Expect(mc.Labels).To(HaveKeyWithValue(clusterv1beta1.MemberNameLabel, "join"))

	namespace := &corev1.Namespace{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: ns}, namespace)).To(Succeed())
	g.Expect(namespace.OwnerReferences).To(ContainElement(HaveField("UID", mc.UID)))

	// The agent's rights come from the fixed ClusterRole, bound in the member's namespace only;
	// the hub writes no per-member Role.
	binding := &rbacv1.RoleBinding{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fleet-rolebinding-join"}, binding)).To(Succeed())
	g.Expect(binding.Subjects).To(ConsistOf(mc.Spec.Identity))
	g.Expect(binding.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: membership.AgentClusterRole}))
	g.Expect(binding.OwnerReferences).To(ContainElement(HaveField("UID", mc.UID)))
	g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fleet-role-join"}, &rbacv1.Role{}))).To(BeTrue())

	imc := getIMC(g, c, "join")
	g.Expect(imc.Spec.State).To(Equal(clusterv1beta1.ClusterStateJoin))
	g.Expect(imc.Spec.HeartbeatPeriodSeconds).To(Equal(int32(2)))

	// No agent has reported yet.
	g.Expect(condition(g, c, "join", clusterv1beta1.ConditionJoined).Status).To(Equal(metav1.ConditionUnknown))

	// A new identity replaces the RoleBinding's subject; a new period reaches the IMC.
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
	mc.Spec.Identity.Name = "rotated-agent"
	mc.Spec.HeartbeatPeriodSeconds = 9
	g.Expect(c.Update(ctx, mc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fleet-rolebinding-join"}, binding)).To(Succeed())
		g.Expect(binding.Subjects).To(ConsistOf(HaveField("Name", "rotated-agent")))
		g.Expect(getIMC(g, c, "join").Spec.HeartbeatPeriodSeconds).To(Equal(int32(9)))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

func TestAgentStatusIsCopiedAndAggregated(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	g.Expect(c.Create(ctx, newMember("report"))).To(Succeed())
	g.Eventually(func(g Gomega) { getIMC(g, c, "report") }, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	reportAgent(g, c, "report", metav1.ConditionTrue, time.Now())
	g.Eventually(func(g Gomega) {
		joined := condition(g, c, "report", clusterv1beta1.ConditionJoined)
		g.Expect(joined.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(joined.Reason).To(Equal(membership.ReasonJoined))
		healthy := condition(g, c, "report", clusterv1beta1.ConditionHealthy)
		g.Expect(healthy.Reason).To(Equal(membership.ReasonHealthy))
		mc := &clusterv1beta1.MemberCluster{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "report"}, mc)).To(Succeed())
		g.Expect(mc.Status.Properties[clusterv1beta1.PropertyNodeCount].Value).To(Equal("7"))
		g.Expect(mc.Status.AgentStatus).To(HaveLen(1))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// A heartbeat older than three periods makes the health unknown.
	reportAgent(g, c, "report", metav1.ConditionTrue, time.Now().Add(-time.Minute))
	g.Eventually(func(g Gomega) {
		healthy := condition(g, c, "report", clusterv1beta1.ConditionHealthy)
		g.Expect(healthy.Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(healthy.Reason).To(Equal(membership.ReasonHeartbeatTimeout))
		g.Expect(healthy.Message).To(ContainSubstring("no heartbeat"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

func TestLeaveWaitsForTheAgent(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	mc := newMember("leaver")
	g.Expect(c.Create(ctx, mc)).To(Succeed())
	g.Eventually(func(g Gomega) { getIMC(g, c, "leaver") }, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	reportAgent(g, c, "leaver", metav1.ConditionTrue, time.Now())
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, c, "leaver", clusterv1beta1.ConditionJoined).Status).To(Equal(metav1.ConditionTrue))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Expect(c.Delete(ctx, mc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getIMC(g, c, "leaver").Spec.State).To(Equal(clusterv1beta1.ClusterStateLeave))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	// The member stays while the agent has not acknowledged. The hub asks the agent to
	// leave before it writes the member's status, so the message may come a moment later.
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, c, "leaver", clusterv1beta1.ConditionJoined).Message).To(ContainSubstring("waiting for the member agent to leave"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	reportAgent(g, c, "leaver", metav1.ConditionFalse, time.Now())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(mc), &clusterv1beta1.MemberCluster{}))
	}, 60*time.Second, 100*time.Millisecond).Should(BeTrue())
	g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: clusterv1beta1.NamespaceForMember("leaver")}, &corev1.Namespace{}))).To(BeTrue())
}

func TestForceDeleteWhenTheAgentIsGone(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	mc := newMember("silent")
	g.Expect(c.Create(ctx, mc)).To(Succeed())
	g.Eventually(func(g Gomega) { getIMC(g, c, "silent") }, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	reportAgent(g, c, "silent", metav1.ConditionTrue, time.Now())
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, c, "silent", clusterv1beta1.ConditionJoined).Status).To(Equal(metav1.ConditionTrue))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Expect(c.Delete(ctx, mc)).To(Succeed())
	// Nobody acknowledges the Leave; the hub removes the member after the force wait.
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(mc), &clusterv1beta1.MemberCluster{}))
	}, 60*time.Second, 200*time.Millisecond).Should(BeTrue())
	var events corev1.EventList
	g.Expect(c.List(ctx, &events)).To(Succeed())
	g.Expect(events.Items).To(ContainElement(And(
		HaveField("Reason", "ForceDeleted"),
		HaveField("InvolvedObject.Name", "silent"))))
}

func TestMemberNamespaceIsGuarded(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	g.Expect(c.Create(ctx, newMember("guarded"))).To(Succeed())
	ns := clusterv1beta1.NamespaceForMember("guarded")
	g.Eventually(func() error { return c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}) }, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// An ordinary user with the right to delete namespaces is still refused by the policy.
	impersonated := *fleet.Hub.Config
	impersonated.Impersonate.UserName = "alice"
	alice, err := client.New(&impersonated, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}},
	})).To(Succeed())
	err = alice.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("delete the MemberCluster guarded instead"))
}
