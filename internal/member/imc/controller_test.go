package imc_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member"
	"github.com/flotilla-dev/flotilla/internal/member/imc"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 1, &fleet) }

const name = "member-1"

// TestHeartbeatPropertiesAndLeave runs the agent against a hand-made IMC (no hub controller)
// and checks what it reports.
func TestHeartbeatPropertiesAndLeave(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	memberClient, err := client.New(fleet.Members[0].Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(localfleet.SeedNodes(ctx, fleet.Members[0].Config, localfleet.DefaultNodePools(), localfleet.KubeVersion)).To(Succeed())
	// A pod bound to a node takes its requests off the available resources.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "busy", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "aks-user-0", Containers: []corev1.Container{{
			Name: "app", Image: "app",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("1Gi"),
			}},
		}}},
	}
	g.Expect(memberClient.Create(ctx, pod)).To(Succeed())

	ns := clusterv1beta1.NamespaceForMember(name)
	g.Expect(hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	record := &clusterv1beta1.InternalMemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       clusterv1beta1.InternalMemberClusterSpec{State: clusterv1beta1.ClusterStateJoin, HeartbeatPeriodSeconds: 1},
	}
	g.Expect(hub.Create(ctx, record)).To(Succeed())

	healthAddr := freeAddr(t)
	mgr, err := member.NewManager(context.Background(), fleet.Hub.Config, fleet.Members[0].Config, member.Options{Name: name, HealthAddr: healthAddr})
	g.Expect(err).NotTo(HaveOccurred())
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		cancel()
		g.Expect(<-done).To(Succeed())
	}()

	agentOf := func(g Gomega) *clusterv1beta1.AgentStatus {
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(record), record)).To(Succeed())
		// The networking agents report their own entries next to the MemberAgent's.
		agent := eligibility.AgentStatusOf(record.Status.AgentStatus, clusterv1beta1.MemberAgent)
		g.Expect(agent).NotTo(BeNil(), "no MemberAgent entry in %+v", record.Status.AgentStatus)
		return agent
	}
	var first time.Time
	g.Eventually(func(g Gomega) {
		agent := agentOf(g)
		g.Expect(agent.Type).To(Equal(clusterv1beta1.MemberAgent))
		joined := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionJoined)
		g.Expect(joined).NotTo(BeNil())
		g.Expect(joined.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(joined.Reason).To(Equal(imc.ReasonJoined))
		healthy := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionHealthy)
		g.Expect(healthy).NotTo(BeNil())
		g.Expect(healthy.Reason).To(Equal(imc.ReasonHealthy))
		first = agent.LastReceivedHeartbeat.Time
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// The agent's own readiness probe passes once heartbeats reach the hub.
	g.Eventually(func(g Gomega) {
		resp, err := http.Get("http://" + healthAddr + "/readyz")
		g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	props := record.Status.Properties
	g.Expect(props[clusterv1beta1.PropertyNodeCount].Value).To(Equal("3"))
	g.Expect(props[clusterv1beta1.PropertyKubernetesVersion].Value).To(Equal(localfleet.KubeVersion))
	g.Expect(props[clusterv1beta1.PropertyTotalCPU].Value).To(Equal("20"))
	g.Expect(props[clusterv1beta1.PropertyTotalMemory].Value).To(Equal("80Gi"))
	g.Expect(props[clusterv1beta1.PropertyAvailableCPU].Value).To(Equal("18500m"))
	g.Expect(props[clusterv1beta1.PropertyAvailableMemory].Value).To(Equal("79Gi"))
	g.Expect(record.Status.ResourceUsage.Allocatable.Cpu().String()).To(Equal("20"))

	// Heartbeats keep coming.
	g.Eventually(func(g Gomega) {
		g.Expect(agentOf(g).LastReceivedHeartbeat.Time).To(BeTemporally(">", first))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// Leave: the agent reports Joined=False for the new generation and stops heartbeats.
	g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(record), record)).To(Succeed())
	record.Spec.State = clusterv1beta1.ClusterStateLeave
	g.Expect(hub.Update(ctx, record)).To(Succeed())
	generation := record.Generation
	var left time.Time
	g.Eventually(func(g Gomega) {
		agent := agentOf(g)
		joined := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionJoined)
		g.Expect(joined.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(joined.Reason).To(Equal(imc.ReasonLeft))
		g.Expect(joined.ObservedGeneration).To(Equal(generation))
		left = agent.LastReceivedHeartbeat.Time
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(agentOf(g).LastReceivedHeartbeat.Time).To(Equal(left))
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
	// What was on the member is still there.
	g.Expect(memberClient.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})).To(Succeed())
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
