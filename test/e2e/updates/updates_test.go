package updates

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/providers/local"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// The tests share one fleet and run in order: each starts from where the previous left
// the nodes.

const within = 90 * time.Second

// consistent is the newest image all three regions offer in the default catalog: westeurope's.
const consistent = local.ImageFamily + "-202511.20.0"

func memberClient(t *testing.T, name string) client.Client {
	t.Helper()
	c, err := client.New(fleet.Member(name).Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func setGroup(t *testing.T, name, group string) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		mc := &clusterv1beta1.MemberCluster{}
		if err := fleet.Hub.Get(context.Background(), client.ObjectKey{Name: name}, mc); err != nil {
			return err
		}
		mc.Labels[u.GroupLabel] = group
		return fleet.Hub.Update(context.Background(), mc)
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
}

func getRun(g Gomega, name string) *u.UpdateRun {
	run := &u.UpdateRun{}
	g.Expect(fleet.Hub.Get(context.Background(), client.ObjectKey{Name: name}, run)).To(Succeed())
	return run
}

func waitRun(t *testing.T, name string, state u.State) *u.UpdateRun {
	t.Helper()
	var run *u.UpdateRun
	NewWithT(t).Eventually(func(g Gomega) {
		run = getRun(g, name)
		g.Expect(run.Status.State).To(Equal(state), "%+v", run.Status.Status)
	}, within, 200*time.Millisecond).Should(Succeed())
	return run
}

func memberOf(run *u.UpdateRun, name string) *u.MemberStatus {
	for _, s := range run.Status.Stages {
		for _, g := range s.Groups {
			for i := range g.Members {
				if g.Members[i].Name == name {
					return &g.Members[i]
				}
			}
		}
	}
	return nil
}

func TestProvidersPublishProfiles(t *testing.T) {
	g := NewWithT(t)
	for i, m := range fleet.Members {
		mc := &clusterv1beta1.MemberCluster{}
		g.Expect(fleet.Hub.Get(context.Background(), client.ObjectKey{Name: m.Name}, mc)).To(Succeed())
		g.Expect(mc.Annotations).To(HaveKeyWithValue(u.ProviderAnnotation, u.ProviderLocal))
		g.Eventually(func(g Gomega) {
			p := &u.MemberUpgradeProfile{}
			g.Expect(fleet.Hub.Get(context.Background(), client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(m.Name), Name: m.Name}, p)).To(Succeed())
			g.Expect(p.Status.Error).To(BeEmpty())
			g.Expect(p.Status.Region).To(Equal(localfleet.RegionOf(i + 1)))
			g.Expect(p.Status.KubernetesVersion).To(Equal(localfleet.KubeVersion))
			g.Expect(p.Status.NodePools).To(HaveLen(2))
			g.Expect(p.Status.NodePools[0].NodeImageVersion).To(Equal("202510.01.0"))
			g.Expect(p.Status.LatestNodeImages).To(HaveKey(local.ImageFamily))
		}, within, 200*time.Millisecond).Should(Succeed())
	}
}

// TestConsistentNodeImageRunInTwoStages is the end-to-end check: a NodeImageOnly,
// Consistent run over three members in two stages with a five-second wait between them.
func TestConsistentNodeImageRunInTwoStages(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	setGroup(t, "member-1", "canary")
	setGroup(t, "member-2", "west")
	setGroup(t, "member-3", "europe")

	// A pod on member-1's first user node, under a PodDisruptionBudget that allows its
	// eviction: the provider evicts it through the Eviction API.
	m1 := memberClient(t, "member-1")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "aks-user-0", Containers: []corev1.Container{{Name: "web", Image: "web"}}},
	}
	g.Expect(m1.Create(ctx, pod)).To(Succeed())
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &intstr.IntOrString{Type: intstr.Int, IntVal: 1},
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}
	g.Expect(m1.Create(ctx, pdb)).To(Succeed())

	g.Expect(fleet.Hub.Create(ctx, &u.UpdateStrategy{
		ObjectMeta: metav1.ObjectMeta{Name: "canary-then-prod"},
		Spec: u.UpdateStrategySpec{Stages: []u.StageConfig{
			{Name: "canary", Groups: []u.GroupConfig{{Name: "canary"}}, AfterStageWaitInSeconds: 5},
			{Name: "prod", Groups: []u.GroupConfig{{Name: "west"}, {Name: "europe"}}},
		}},
	})).To(Succeed())
	run := &u.UpdateRun{
		ObjectMeta: metav1.ObjectMeta{Name: "images"},
		Spec: u.UpdateRunSpec{
			UpdateStrategyName: "canary-then-prod", State: u.RequestRunning,
			ManagedClusterUpdate: u.ManagedClusterUpdate{
				Upgrade:            u.UpgradeSpec{Type: u.UpgradeNodeImageOnly},
				NodeImageSelection: &u.NodeImageSelection{Type: u.NodeImageConsistent},
			},
		},
	}
	g.Expect(fleet.Hub.Create(ctx, run)).To(Succeed())
	run = waitRun(t, "images", u.StateCompleted)

	g.Expect(run.Status.NodeImageSelection.SelectedNodeImageVersions).To(Equal([]u.NodeImageVersion{{Family: local.ImageFamily, Version: "202511.20.0"}}))

	// Every fake node ends on the selected image, uncordoned, without the provider's marks.
	for _, m := range fleet.Members {
		var nodes corev1.NodeList
		g.Expect(memberClient(t, m.Name).List(ctx, &nodes)).To(Succeed())
		g.Expect(nodes.Items).To(HaveLen(3))
		for _, n := range nodes.Items {
			g.Expect(n.Labels[local.NodeImageVersionLabel]).To(Equal(consistent), "%s/%s", m.Name, n.Name)
			g.Expect(n.Spec.Unschedulable).To(BeFalse(), "%s/%s still cordoned", m.Name, n.Name)
			g.Expect(n.Annotations).NotTo(HaveKey(local.UpgradingSinceAnnotation))
			g.Expect(n.Status.NodeInfo.KubeletVersion).To(Equal(localfleet.KubeVersion))
		}
	}
	// The pod was evicted.
	err := m1.Get(ctx, client.ObjectKeyFromObject(pod), pod)
	g.Expect(apierrors.IsNotFound(err) || (err == nil && pod.DeletionTimestamp != nil)).To(BeTrue(), "pod web was not evicted: %v", err)

	// The timestamps prove the order and the wait.
	canary, prod := run.Status.Stages[0], run.Status.Stages[1]
	g.Expect(canary.Name).To(Equal("canary"))
	wait := canary.AfterStageWaitStatus
	g.Expect(wait).NotTo(BeNil())
	g.Expect(wait.Status.State).To(Equal(u.StateCompleted))
	g.Expect(wait.WaitDurationInSeconds).To(Equal(int32(5)))
	canaryGroup := canary.Groups[0]
	g.Expect(canaryGroup.Status.State).To(Equal(u.StateCompleted))
	g.Expect(wait.Status.StartTime.Time).NotTo(BeTemporally("<", canaryGroup.Status.CompletedTime.Time), "the wait began before the canary group finished")
	g.Expect(wait.Status.CompletedTime.Sub(wait.Status.StartTime.Time)).To(BeNumerically(">=", 5*time.Second), "the wait was shorter than 5s")
	g.Expect(prod.Status.StartTime.Time).NotTo(BeTemporally("<", wait.Status.CompletedTime.Time), "prod began before the wait ended")
	for _, name := range []string{"member-2", "member-3"} {
		ms := memberOf(run, name)
		g.Expect(ms.Status.State).To(Equal(u.StateCompleted))
		g.Expect(ms.Status.StartTime.Time).NotTo(BeTemporally("<", wait.Status.CompletedTime.Time), "%s began before the wait ended", name)
		g.Expect(ms.Status.StartTime.Time).NotTo(BeTemporally("<", canaryGroup.Status.CompletedTime.Time))
	}
	// The two prod groups ran side by side.
	west, europe := prod.Groups[0], prod.Groups[1]
	g.Expect(west.Status.StartTime.Time).To(BeTemporally("<", europe.Status.CompletedTime.Time))
	g.Expect(europe.Status.StartTime.Time).To(BeTemporally("<", west.Status.CompletedTime.Time))
	// Each node takes at least nodeDuration, one at a time: three nodes, three durations.
	m1Status := memberOf(run, "member-1")
	g.Expect(m1Status.Status.CompletedTime.Sub(m1Status.Status.StartTime.Time)).To(BeNumerically(">=", 3*nodeDuration))
	g.Expect(run.Status.CompletedTime.Time).NotTo(BeTemporally("<", prod.Status.CompletedTime.Time))

	// The profiles show the new images.
	g.Eventually(func(g Gomega) {
		for _, m := range fleet.Members {
			p := &u.MemberUpgradeProfile{}
			g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(m.Name), Name: m.Name}, p)).To(Succeed())
			for _, pool := range p.Status.NodePools {
				g.Expect(pool.NodeImageVersion).To(Equal("202511.20.0"))
			}
		}
	}, within, 200*time.Millisecond).Should(Succeed())

	// Run again: every member is at the target, so the system skips them all.
	again := run.DeepCopy()
	again.ObjectMeta = metav1.ObjectMeta{Name: "images-again"}
	again.Status = u.UpdateRunStatus{}
	g.Expect(fleet.Hub.Create(ctx, again)).To(Succeed())
	again = waitRun(t, "images-again", u.StateCompleted)
	for _, m := range fleet.Members {
		g.Expect(memberOf(again, m.Name).Status.State).To(Equal(u.StateSkipped))
	}
}

// TestControlPlaneOnlyAndPending upgrades the control planes to 1.36.1, which westeurope
// (member-3) does not offer: member-3 is Pending, the others record the new version.
func TestControlPlaneOnlyAndPending(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	run := &u.UpdateRun{
		ObjectMeta: metav1.ObjectMeta{Name: "control-plane"},
		Spec: u.UpdateRunSpec{State: u.RequestRunning, ManagedClusterUpdate: u.ManagedClusterUpdate{
			Upgrade: u.UpgradeSpec{Type: u.UpgradeControlPlaneOnly, KubernetesVersion: "1.36.1"},
		}},
	}
	g.Expect(fleet.Hub.Create(ctx, run)).To(Succeed())
	run = waitRun(t, "control-plane", u.StateCompleted)
	g.Expect(memberOf(run, "member-1").Status.State).To(Equal(u.StateCompleted))
	g.Expect(memberOf(run, "member-2").Status.State).To(Equal(u.StateCompleted))
	g.Expect(memberOf(run, "member-3").Status.State).To(Equal(u.StatePending))
	g.Expect(memberOf(run, "member-3").Status.Error).To(ContainSubstring("not offered in region westeurope"))
	for name, want := range map[string]string{"member-1": "v1.36.1", "member-2": "v1.36.1", "member-3": localfleet.KubeVersion} {
		p := &u.MemberUpgradeProfile{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: name}, p)).To(Succeed())
		g.Expect(p.Status.KubernetesVersion).To(Equal(want), name)
	}
}

// TestSimulatedFailure fails member-2's operation through the MemberCluster annotation.
func TestSimulatedFailure(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Eventually(func() error {
		mc := &clusterv1beta1.MemberCluster{}
		if err := fleet.Hub.Get(ctx, client.ObjectKey{Name: "member-2"}, mc); err != nil {
			return err
		}
		mc.Annotations[u.SimulateFailureAnnotation] = "true"
		return fleet.Hub.Update(ctx, mc)
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	run := &u.UpdateRun{
		ObjectMeta: metav1.ObjectMeta{Name: "latest"},
		Spec: u.UpdateRunSpec{State: u.RequestRunning, ManagedClusterUpdate: u.ManagedClusterUpdate{
			Upgrade: u.UpgradeSpec{Type: u.UpgradeNodeImageOnly},
		}},
	}
	g.Expect(fleet.Hub.Create(ctx, run)).To(Succeed())
	run = waitRun(t, "latest", u.StateFailed)
	g.Expect(run.Status.Error).To(ContainSubstring("member member-2 failed: simulated failure"))
	g.Expect(memberOf(run, "member-1").Status.State).To(Equal(u.StateCompleted))
	g.Expect(memberOf(run, "member-3").Status.State).To(Equal(u.StateNotStarted))
	mu := &u.MemberUpdate{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember("member-2"), Name: "latest"}, mu)).To(Succeed())
	g.Expect(mu.Status.State).To(Equal(u.StateFailed))
	g.Expect(mu.Status.Message).To(ContainSubstring(u.SimulateFailureAnnotation))
	// Latest gives member-1 (eastus) its region's newest image.
	var nodes corev1.NodeList
	g.Expect(memberClient(t, "member-1").List(ctx, &nodes)).To(Succeed())
	for _, n := range nodes.Items {
		g.Expect(n.Labels[local.NodeImageVersionLabel]).To(Equal(local.ImageFamily + "-202512.05.0"))
	}
}
