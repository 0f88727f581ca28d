package upgrade_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member"
	"github.com/flotilla-dev/flotilla/internal/providers/local"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	testenv.Main(m, 1, &fleet)
}

// TestAgentRunsTheLocalProvider starts a member agent with --upgrade-provider local and
// checks that it keeps the profile current and carries out a MemberUpdate.
func TestAgentRunsTheLocalProvider(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const name = "member-1"
	hub, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	m, err := client.New(fleet.Members[0].Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(localfleet.SeedNodes(ctx, fleet.Members[0].Config, localfleet.DefaultNodePools(), localfleet.KubeVersion)).To(Succeed())
	g.Expect(local.LabelNodesWithRegion(ctx, fleet.Members[0].Config, "eastus")).To(Succeed())
	g.Expect(local.WriteCatalogIfMissing(ctx, hub, local.DefaultCatalog(localfleet.KubeVersion))).To(Succeed())
	ns := clusterv1beta1.NamespaceForMember(name)
	g.Expect(hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())

	mgr, err := member.NewManager(context.Background(), fleet.Hub.Config, fleet.Members[0].Config, member.Options{
		Name: name, UpgradeProvider: u.ProviderLocal, NodeUpgradeDuration: 50 * time.Millisecond,
	})
	g.Expect(err).NotTo(HaveOccurred())
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() { cancel(); g.Expect(<-done).To(Succeed()) }()

	profile := func(g Gomega) *u.MemberUpgradeProfile {
		p := &u.MemberUpgradeProfile{}
		g.Expect(hub.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p)).To(Succeed())
		return p
	}
	g.Eventually(func(g Gomega) {
		p := profile(g)
		g.Expect(p.Status.Provider).To(Equal(u.ProviderLocal))
		g.Expect(p.Status.Region).To(Equal("eastus"))
		g.Expect(p.Status.LatestNodeImages).To(HaveKeyWithValue(local.ImageFamily, "202512.05.0"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// A node changed by hand shows in the profile soon (the publisher watches nodes).
	node := &corev1.Node{}
	g.Expect(m.Get(ctx, client.ObjectKey{Name: "aks-system-0"}, node)).To(Succeed())
	node.Labels[local.NodeImageVersionLabel] = local.ImageFamily + "-202409.01.0"
	g.Expect(m.Update(ctx, node)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(profile(g).Status.NodePools[0].NodeImageVersion).To(Equal("202409.01.0"))
	}, 5*time.Second, 100*time.Millisecond).Should(Succeed())

	mu := &u.MemberUpdate{
		ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: ns},
		Spec: u.MemberUpdateSpec{UpdateRun: "run", Provider: u.ProviderLocal, Type: u.UpgradeNodeImageOnly,
			NodeImageVersions: []u.NodeImageVersion{{Family: local.ImageFamily, Version: "202512.05.0"}}},
	}
	g.Expect(hub.Create(ctx, mu)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(mu), mu)).To(Succeed())
		g.Expect(mu.Status.State).To(Equal(u.StateCompleted), mu.Status.Message)
		g.Expect(mu.Status.Message).To(Equal("all 3 nodes upgraded"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	// The profile is published again as the operation ends.
	g.Eventually(func(g Gomega) {
		for _, pool := range profile(g).Status.NodePools {
			g.Expect(pool.NodeImageVersion).To(Equal("202512.05.0"))
		}
	}, 5*time.Second, 100*time.Millisecond).Should(Succeed())
}
