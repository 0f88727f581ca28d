// Package workloads runs end-to-end tests on a local fleet started with --workloads: each
// member runs the workload controllers, a kube-scheduler and kwok, so placed Deployments
// get real (fake-kubelet) pods and availability is what a real cluster would report.
package workloads

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *fleetup.Fleet

func TestMain(m *testing.M) {
	testenv.WorkloadFleetMain(m, "e2e-workloads", fleetup.Options{Members: 2, HeartbeatSeconds: 1}, &fleet, nil)
}

func deployment(ns, name string, replicas int32, cpu string) map[string]any {
	labels := map[string]any{"app": name}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "app", "image": "nginx",
					"resources": map[string]any{"requests": map[string]any{"cpu": cpu, "memory": "64Mi"}},
				}}},
			},
		},
	}
}

func place(t *testing.T, hub client.Client, member, name string, objs ...map[string]any) *placementv1beta1.Work {
	t.Helper()
	w := &placementv1beta1.Work{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: clusterv1beta1.NamespaceForMember(member)}}
	for _, o := range objs {
		data, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		m := placementv1beta1.Manifest{}
		m.Raw = data
		w.Spec.Workload.Manifests = append(w.Spec.Workload.Manifests, m)
	}
	if err := hub.Create(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestDeploymentAvailability places a Deployment on both members: it becomes Available on
// each, with its replicas running on kwok's nodes. A Deployment that asks for more CPU than
// any node has stays unavailable, and the reason says its pods cannot be scheduled.
func TestDeploymentAvailability(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub := fleet.Hub
	namespace := func(name string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
	}
	start := time.Now()
	var works []*placementv1beta1.Work
	for _, m := range fleet.Members {
		works = append(works, place(t, hub, m.Name, "web", namespace("shop"), deployment("shop", "web", 2, "250m")))
		// The nodes have 4 and 8 CPUs: no node can take a pod that asks for 64.
		works = append(works, place(t, hub, m.Name, "hungry", namespace("lab"), deployment("lab", "hungry", 1, "64")))
	}

	for i, m := range fleet.Members {
		web, hungry := works[2*i], works[2*i+1]
		g.Eventually(func(g Gomega) {
			w := &placementv1beta1.Work{}
			g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(web), w)).To(Succeed())
			avail := meta.FindStatusCondition(w.Status.Conditions, placementv1beta1.WorkConditionTypeAvailable)
			g.Expect(avail).NotTo(BeNil())
			g.Expect(avail.Status).To(Equal(metav1.ConditionTrue), avail.Message)
			g.Expect(avail.Reason).To(Equal(placementv1beta1.WorkAllManifestsAvailableReason))
		}, 90*time.Second, 200*time.Millisecond).Should(Succeed(), "Deployment web on %s", m.Name)
		t.Logf("Deployment web available on %s %s after its Work was created", m.Name, time.Since(start).Round(100*time.Millisecond))

		member, err := client.New(m.Config, client.Options{Scheme: scheme.Scheme})
		g.Expect(err).NotTo(HaveOccurred())
		d := &appsv1.Deployment{}
		g.Expect(member.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web"}, d)).To(Succeed())
		g.Expect(d.Status.AvailableReplicas).To(Equal(int32(2)))

		g.Eventually(func(g Gomega) {
			w := &placementv1beta1.Work{}
			g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(hungry), w)).To(Succeed())
			applied := meta.FindStatusCondition(w.Status.Conditions, placementv1beta1.WorkConditionTypeApplied)
			g.Expect(applied).NotTo(BeNil())
			g.Expect(applied.Status).To(Equal(metav1.ConditionTrue))
			avail := meta.FindStatusCondition(w.Status.Conditions, placementv1beta1.WorkConditionTypeAvailable)
			g.Expect(avail).NotTo(BeNil())
			g.Expect(avail.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(w.Status.ManifestConditions).To(HaveLen(2))
			mc := meta.FindStatusCondition(w.Status.ManifestConditions[1].Conditions, placementv1beta1.WorkConditionTypeAvailable)
			g.Expect(mc).NotTo(BeNil())
			g.Expect(mc.Reason).To(Equal(placementv1beta1.ManifestPodsUnschedulableReason))
			g.Expect(mc.Message).To(ContainSubstring("Insufficient cpu"))
			g.Expect(avail.Message).To(ContainSubstring("Insufficient cpu"))
		}, 90*time.Second, 200*time.Millisecond).Should(Succeed(), "Deployment hungry on %s", m.Name)
	}
}

// TestPlacementAvailability does the same through a ClusterResourcePlacement: the hub's
// scheduler, rollout and work generator make the Works, and the placement reports each
// member's availability, including why the greedy Deployment is not available.
func TestPlacementAvailability(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub := fleet.Hub
	for ns, d := range map[string]*appsv1.Deployment{"store": typedDeployment("store", "web", 2, "250m"), "bulk": typedDeployment("bulk", "hungry", 1, "64")} {
		g.Expect(hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		g.Expect(hub.Create(ctx, d)).To(Succeed())
		g.Expect(hub.Create(ctx, &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: ns},
			Spec: placementv1beta1.ClusterResourcePlacementSpec{
				ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: ns}},
			}})).To(Succeed())
	}
	status := func(g Gomega, name string) *placementv1beta1.ClusterResourcePlacement {
		p := &placementv1beta1.ClusterResourcePlacement{}
		g.Expect(hub.Get(ctx, client.ObjectKey{Name: name}, p)).To(Succeed())
		g.Expect(p.Status.PlacementStatuses).To(HaveLen(len(fleet.Members)))
		return p
	}
	g.Eventually(func(g Gomega) {
		p := status(g, "store")
		c := meta.FindStatusCondition(p.Status.Conditions, string(placementv1beta1.CRPAvailableConditionType))
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		for _, ps := range p.Status.PlacementStatuses {
			a := meta.FindStatusCondition(ps.Conditions, string(placementv1beta1.ResourcesAvailableConditionType))
			g.Expect(a).NotTo(BeNil())
			g.Expect(a.Status).To(Equal(metav1.ConditionTrue), "%s: %s", ps.ClusterName, a.Message)
		}
	}, 90*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		p := status(g, "bulk")
		c := meta.FindStatusCondition(p.Status.Conditions, string(placementv1beta1.CRPAvailableConditionType))
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		for _, ps := range p.Status.PlacementStatuses {
			a := meta.FindStatusCondition(ps.Conditions, string(placementv1beta1.ResourcesAvailableConditionType))
			g.Expect(a).NotTo(BeNil())
			g.Expect(a.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ps.FailedPlacements).To(HaveLen(1))
			f := ps.FailedPlacements[0]
			g.Expect(f.Kind).To(Equal("Deployment"))
			g.Expect(f.Condition.Reason).To(Equal(placementv1beta1.ManifestPodsUnschedulableReason))
			g.Expect(f.Condition.Message).To(ContainSubstring("Insufficient cpu"))
		}
	}, 90*time.Second, 200*time.Millisecond).Should(Succeed())
}

func typedDeployment(ns, name string, replicas int32, cpu string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}}},
		}}
}

// TestWorkDeletedWhileAgentDown: a Work deleted while its member's agent is stopped is
// cleaned up when the agent comes back, from the AppliedWork it left on the member.
func TestWorkDeletedWhileAgentDown(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	m := fleet.Members[len(fleet.Members)-1]
	member, err := client.New(m.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	w := place(t, fleet.Hub, m.Name, "offline",
		map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "offline"}},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "offline"}})
	g.Eventually(func(g Gomega) {
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKeyFromObject(w), w)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(w.Status.Conditions, placementv1beta1.WorkConditionTypeApplied)).To(BeTrue())
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())

	fleet.StopAgent(m.Name)
	g.Expect(fleet.Hub.Delete(ctx, w)).To(Succeed())
	fleet.StartAgent(m.Name)
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(member.Get(ctx, client.ObjectKey{Name: "offline"}, &placementv1beta1.AppliedWork{}))).To(BeTrue())
		g.Expect(apierrors.IsNotFound(member.Get(ctx, client.ObjectKey{Namespace: "offline", Name: "c"}, &corev1.ConfigMap{}))).To(BeTrue())
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
}
