package local_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/providers"
	"github.com/flotilla-dev/flotilla/internal/providers/local"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	testenv.Main(m, 1, &fleet)
}

const name = "member-1"

var me = providers.Member{Name: name}

// setup seeds the member's nodes in westus, the catalog and the member's hub namespace, and
// returns the provider with the given per-node duration.
func setup(t *testing.T, duration time.Duration) (*local.Provider, client.Client, client.Client) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	hub, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	member, err := client.New(fleet.Members[0].Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(fleet.Members[0].Config)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(localfleet.SeedNodes(ctx, fleet.Members[0].Config, localfleet.DefaultNodePools(), localfleet.KubeVersion)).To(Succeed())
	g.Expect(local.LabelNodesWithRegion(ctx, fleet.Members[0].Config, "westus")).To(Succeed())
	g.Expect(local.WriteCatalogIfMissing(ctx, hub, local.DefaultCatalog(localfleet.KubeVersion))).To(Succeed())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterv1beta1.NamespaceForMember(name)}}
	if err := hub.Create(ctx, ns); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	p := &local.Provider{Member: member, Clientset: cs, Hub: hub, HubWriter: hub, NodeDuration: duration}
	return p, hub, member
}

func nodes(g Gomega, member client.Client) []corev1.Node {
	var list corev1.NodeList
	g.Expect(member.List(context.Background(), &list)).To(Succeed())
	return list.Items
}

// runTo steps the operation until done, checking after every step that at most one node is
// cordoned (one node at a time), and returns the steps' messages.
func runTo(t *testing.T, p *local.Provider, member client.Client, op providers.Operation) []string {
	t.Helper()
	g := NewWithT(t)
	var messages []string
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		progress, err := p.Step(context.Background(), me, op)
		g.Expect(err).NotTo(HaveOccurred())
		messages = append(messages, progress.Message)
		cordoned := 0
		for _, n := range nodes(g, member) {
			if n.Annotations[local.UpgradingSinceAnnotation] != "" {
				cordoned++
			}
		}
		g.Expect(cordoned).To(BeNumerically("<=", 1), "more than one node upgrading at once")
		if progress.Done {
			return messages
		}
		if progress.After > 0 {
			// The provider asks to be called back later; the executor would requeue.
			<-time.After(progress.After)
		}
	}
	t.Fatal("the operation did not finish within a minute")
	return nil
}

func TestProfileAndNodeImageUpgradeWithDisruptionBudget(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	p, hub, member := setup(t, 300*time.Millisecond)

	status, err := p.Profile(ctx, me)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status.Error).To(BeEmpty())
	g.Expect(status.Region).To(Equal("westus"))
	g.Expect(status.KubernetesVersion).To(Equal(localfleet.KubeVersion))
	g.Expect(status.AvailableKubernetesVersions).To(ContainElement("1.36.1"))
	g.Expect(status.LatestNodeImages).To(HaveKeyWithValue(local.ImageFamily, "202512.01.0"))
	g.Expect(status.NodePools).To(Equal([]u.NodePoolProfile{
		{Name: "system", ImageFamily: local.ImageFamily, NodeImageVersion: "202510.01.0", KubernetesVersion: localfleet.KubeVersion, Nodes: 1},
		{Name: "user", ImageFamily: local.ImageFamily, NodeImageVersion: "202510.01.0", KubernetesVersion: localfleet.KubeVersion, Nodes: 2},
	}))
	g.Expect(providers.PublishProfile(ctx, hub, p, me, time.Now())).To(Succeed())

	// A pod on aks-user-0 that its PodDisruptionBudget does not let go, and a node the
	// user cordoned, which must stay cordoned.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", Labels: map[string]string{"app": "db"}},
		Spec:       corev1.PodSpec{NodeName: "aks-user-0", Containers: []corev1.Container{{Name: "db", Image: "db"}}},
	}
	g.Expect(member.Create(ctx, pod)).To(Succeed())
	// No kubelet runs: report the pod running and ready, as one would, so the budget
	// protects it (an unready pod may always be evicted).
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	g.Expect(member.Status().Update(ctx, pod)).To(Succeed())
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &intstr.IntOrString{Type: intstr.Int, IntVal: 1},
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		},
	}
	g.Expect(member.Create(ctx, pdb)).To(Succeed())
	// The disruption controller does not run in the test cluster; say what it would.
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1, DisruptionsAllowed: 0}
	g.Expect(member.Status().Update(ctx, pdb)).To(Succeed())
	userCordoned := &corev1.Node{}
	g.Expect(member.Get(ctx, client.ObjectKey{Name: "aks-user-1"}, userCordoned)).To(Succeed())
	userCordoned.Spec.Unschedulable = true
	g.Expect(member.Update(ctx, userCordoned)).To(Succeed())

	op := providers.Operation{Name: "run", Spec: u.MemberUpdateSpec{
		Type: u.UpgradeNodeImageOnly, NodeImageVersions: []u.NodeImageVersion{{Family: local.ImageFamily, Version: "202511.20.0"}},
	}}
	// Nodes go in pool order: the system node first, then aks-user-0, blocked by the budget.
	g.Eventually(func(g Gomega) {
		progress, err := p.Step(ctx, me, op)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(progress.Message).To(ContainSubstring("node aks-user-0 (2 of 3): waiting for a PodDisruptionBudget to allow evicting pod default/db"))
	}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
	blocked := &corev1.Node{}
	g.Expect(member.Get(ctx, client.ObjectKey{Name: "aks-user-0"}, blocked)).To(Succeed())
	g.Expect(blocked.Spec.Unschedulable).To(BeTrue(), "the node being drained is cordoned")
	g.Expect(blocked.Labels[local.NodeImageVersionLabel]).To(HaveSuffix("202510.01.0"), "a node is not upgraded before it is drained")

	// The budget allows one disruption now: the pod is evicted and the upgrade finishes.
	pdb.Status.DisruptionsAllowed = 1
	pdb.Status.CurrentHealthy, pdb.Status.DesiredHealthy = 2, 1
	g.Expect(member.Status().Update(ctx, pdb)).To(Succeed())
	start := time.Now()
	messages := runTo(t, p, member, op)
	g.Expect(messages[len(messages)-1]).To(Equal("all 3 nodes upgraded"))
	// aks-user-1 was still to do, and took at least the per-node duration (aks-user-0's
	// duration counts from its cordon, while it waited for the budget).
	g.Expect(time.Since(start)).To(BeNumerically(">=", p.NodeDuration))

	for _, n := range nodes(g, member) {
		g.Expect(n.Labels[local.NodeImageVersionLabel]).To(Equal(local.ImageFamily+"-202511.20.0"), n.Name)
		g.Expect(n.Annotations).NotTo(HaveKey(local.UpgradingSinceAnnotation))
		g.Expect(n.Annotations).NotTo(HaveKey(local.CordonedAnnotation))
		g.Expect(n.Spec.Unschedulable).To(Equal(n.Name == "aks-user-1"), "%s: only the node the user cordoned stays cordoned", n.Name)
	}
	err = member.Get(ctx, client.ObjectKeyFromObject(pod), pod)
	g.Expect(err != nil || pod.DeletionTimestamp != nil).To(BeTrue(), "the pod was not evicted")

	// Full: the control plane first (recorded in the profile), then the kubelets.
	full := providers.Operation{Name: "full", Spec: u.MemberUpdateSpec{Type: u.UpgradeFull, KubernetesVersion: "1.36.1",
		NodeImageVersions: []u.NodeImageVersion{{Family: local.ImageFamily, Version: "202512.01.0"}}}}
	p.NodeDuration = 0
	messages = runTo(t, p, member, full)
	g.Expect(messages[0]).To(Equal("control plane upgraded to v1.36.1"))
	profile := &u.MemberUpgradeProfile{}
	g.Expect(hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: name}, profile)).To(Succeed())
	g.Expect(profile.Status.KubernetesVersion).To(Equal("v1.36.1"))
	for _, n := range nodes(g, member) {
		g.Expect(n.Status.NodeInfo.KubeletVersion).To(Equal("v1.36.1"), n.Name)
		g.Expect(n.Labels[local.NodeImageVersionLabel]).To(Equal(local.ImageFamily + "-202512.01.0"))
	}
	status, err = p.Profile(ctx, me)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status.KubernetesVersion).To(Equal("v1.36.1"))
	g.Expect(status.NodePools[1].KubernetesVersion).To(Equal("v1.36.1"))

	// Failure injection.
	_, err = p.Step(ctx, me, providers.Operation{Name: "x", Spec: full.Spec, Settings: map[string]string{u.SimulateFailureAnnotation: "true"}})
	f, ok := providers.IsFailure(err)
	g.Expect(ok).To(BeTrue())
	g.Expect(f.Message).To(ContainSubstring("simulated failure: the MemberCluster member-1 has the annotation updates.flotilla.dev/simulate-failure=true"))

	// A bad catalog entry shows in the profile, with what to fix.
	cm := &corev1.ConfigMap{}
	g.Expect(hub.Get(ctx, client.ObjectKey{Namespace: u.CatalogNamespace, Name: u.NodeImageCatalogName}, cm)).To(Succeed())
	cm.Data["westus"] = "nodeImage: oops"
	g.Expect(hub.Update(ctx, cm)).To(Succeed())
	status, err = p.Profile(ctx, me)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status.Error).To(ContainSubstring("key westus, is not valid"))
	g.Expect(status.Error).To(ContainSubstring("expected kubernetesVersions"))
	g.Expect(status.NodePools).To(HaveLen(2), "the rest of the profile is still there")
	delete(cm.Data, "westus")
	g.Expect(hub.Update(ctx, cm)).To(Succeed())
	status, err = p.Profile(ctx, me)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status.Error).To(ContainSubstring(`no entry for region "westus"`))
}
