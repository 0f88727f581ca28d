package netagents_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member/netagents"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 1, &fleet) }

// The networking agents report Joined and Healthy with every heartbeat period while the
// hub says Join, Healthy=False while their APIs are not served, and Joined=False on Leave.
func TestNetworkingAgentStatuses(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	member, err := client.New(fleet.Members[0].Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ns := clusterv1beta1.NamespaceForMember("member-1")
	g.Expect(hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	imc := &clusterv1beta1.InternalMemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "member-1", Namespace: ns},
		Spec:       clusterv1beta1.InternalMemberClusterSpec{State: clusterv1beta1.ClusterStateJoin, HeartbeatPeriodSeconds: 1},
	}
	g.Expect(hub.Create(ctx, imc)).To(Succeed())

	mgr, err := ctrl.NewManager(fleet.Hub.Config, ctrl.Options{
		Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(netagents.Setup(mgr, netagents.Options{Member: member, MemberName: "member-1"})).To(Succeed())
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		cancel()
		g.Expect(<-done).To(Succeed())
	}()

	types := []clusterv1beta1.AgentType{clusterv1beta1.ServiceExportImportAgent, clusterv1beta1.MultiClusterServiceAgent}
	status := func(g Gomega, t clusterv1beta1.AgentType) *clusterv1beta1.AgentStatus {
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(imc), imc)).To(Succeed())
		a := eligibility.AgentStatusOf(imc.Status.AgentStatus, t)
		g.Expect(a).NotTo(BeNil(), "no %s entry", t)
		return a
	}
	// The member does not serve the networking APIs yet: joined, but not healthy.
	g.Eventually(func(g Gomega) {
		for _, typ := range types {
			a := status(g, typ)
			g.Expect(meta.IsStatusConditionTrue(a.Conditions, clusterv1beta1.ConditionJoined)).To(BeTrue())
			h := meta.FindStatusCondition(a.Conditions, clusterv1beta1.ConditionHealthy)
			g.Expect(h).NotTo(BeNil())
			g.Expect(h.Reason).To(Equal(netagents.ReasonUnhealthy))
		}
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	memberCRDs, err := install.MemberNetworking()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(install.Ensure(ctx, member, memberCRDs)).To(Succeed())
	var first time.Time
	g.Eventually(func(g Gomega) {
		for _, typ := range types {
			a := status(g, typ)
			g.Expect(meta.IsStatusConditionTrue(a.Conditions, clusterv1beta1.ConditionHealthy)).To(BeTrue())
			first = a.LastReceivedHeartbeat.Time
		}
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	// Each report is a heartbeat, every heartbeatPeriodSeconds.
	g.Eventually(func(g Gomega) {
		g.Expect(status(g, types[0]).LastReceivedHeartbeat.Time.After(first)).To(BeTrue())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(imc), imc)).To(Succeed())
	imc.Spec.State = clusterv1beta1.ClusterStateLeave
	g.Expect(hub.Update(ctx, imc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, typ := range types {
			j := meta.FindStatusCondition(status(g, typ).Conditions, clusterv1beta1.ConditionJoined)
			g.Expect(j.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(j.Reason).To(Equal(netagents.ReasonLeft))
		}
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}
