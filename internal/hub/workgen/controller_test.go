package workgen_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 1, &fleet) }

const (
	timeout = 30 * time.Second
	poll    = 100 * time.Millisecond
)

func raw(t *testing.T, objs ...map[string]any) []placementv1beta1.ResourceContent {
	t.Helper()
	var out []placementv1beta1.ResourceContent
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		rc := placementv1beta1.ResourceContent{}
		rc.Raw = b
		out = append(out, rc)
	}
	return out
}

func configMap(ns, name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": ns}, "data": map[string]any{"k": "v"}}
}

func snapshot(t *testing.T, crp string, index, subindex, parts int, objs ...map[string]any) *placementv1beta1.ClusterResourceSnapshot {
	t.Helper()
	name := placementv1beta1.ResourceSnapshotName(crp, index)
	annotations := map[string]string{placementv1beta1.ResourceHashAnnotation: "hash", placementv1beta1.NumberOfResourceSnapshotsAnnotation: itoa(parts)}
	if subindex >= 0 {
		name = placementv1beta1.SubResourceSnapshotName(crp, index, subindex)
		annotations = map[string]string{placementv1beta1.SubindexOfResourceSnapshotAnnotation: itoa(subindex)}
	}
	return &placementv1beta1.ClusterResourceSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations, Labels: map[string]string{
			placementv1beta1.CRPTrackingLabel: crp, placementv1beta1.ResourceIndexLabel: itoa(index), placementv1beta1.IsLatestSnapshotLabel: "true"}},
		Spec: placementv1beta1.ResourceSnapshotSpec{SelectedResources: raw(t, objs...)},
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestBindingWorksAndStatus runs the hub controllers and a real member agent: a Bound
// binding over a snapshot in two parts becomes two Works, the agent applies them, and the
// binding reports Applied and Available; a new snapshot with a bad object is reported as
// failed; deleting the binding removes its Works and what they placed.
func TestBindingWorksAndStatus(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hubClient, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	memberClient, err := client.New(fleet.Members[0].Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	name := fleet.Members[0].Name
	ns := clusterv1beta1.NamespaceForMember(name)
	g.Expect(hubClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	g.Expect(hubClient.Create(ctx, &clusterv1beta1.InternalMemberCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: clusterv1beta1.InternalMemberClusterSpec{State: clusterv1beta1.ClusterStateJoin, HeartbeatPeriodSeconds: 5}})).To(Succeed())

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	hubMgr, err := hub.NewManager(fleet.Hub.Config, hub.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = hubMgr.Start(runCtx) }()
	agent, err := member.NewManager(context.Background(), fleet.Hub.Config, fleet.Members[0].Config, member.Options{Name: name})
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = agent.Start(runCtx) }()

	crp := "place"
	g.Expect(hubClient.Create(ctx, snapshot(t, crp, 0, -1, 2,
		map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "wg"}},
		configMap("wg", "a")))).To(Succeed())
	g.Expect(hubClient.Create(ctx, snapshot(t, crp, 0, 0, 0, configMap("wg", "b")))).To(Succeed())
	b := &placementv1beta1.ClusterResourceBinding{
		ObjectMeta: metav1.ObjectMeta{Name: placementv1beta1.BindingName(crp, name), Labels: map[string]string{placementv1beta1.CRPTrackingLabel: crp}},
		Spec: placementv1beta1.ResourceBindingSpec{
			State: placementv1beta1.BindingStateBound, ResourceSnapshotName: placementv1beta1.ResourceSnapshotName(crp, 0),
			SchedulingPolicySnapshotName: placementv1beta1.PolicySnapshotName(crp, 0), TargetCluster: name,
			ClusterDecision: placementv1beta1.ClusterDecision{ClusterName: name, Selected: true},
		},
	}
	g.Expect(hubClient.Create(ctx, b)).To(Succeed())

	condOf := func(g Gomega, typ placementv1beta1.ResourceConditionType) metav1.Condition {
		g.Expect(hubClient.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		c := meta.FindStatusCondition(b.Status.Conditions, string(typ))
		g.Expect(c).NotTo(BeNil(), "no %s condition", typ)
		g.Expect(c.ObservedGeneration).To(Equal(b.Generation))
		return *c
	}
	g.Eventually(func(g Gomega) {
		g.Expect(condOf(g, placementv1beta1.ResourceWorkSynchronizedConditionType).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condOf(g, placementv1beta1.ResourcesAppliedConditionType).Reason).To(Equal(placementv1beta1.ApplySucceededReason))
		g.Expect(condOf(g, placementv1beta1.ResourcesAvailableConditionType).Reason).To(Equal(placementv1beta1.AvailableReason))
	}, timeout, poll).Should(Succeed())
	g.Expect(b.Finalizers).To(ContainElement(placementv1beta1.WorkFinalizer))

	var works placementv1beta1.WorkList
	g.Expect(hubClient.List(ctx, &works, client.InNamespace(ns))).To(Succeed())
	g.Expect(works.Items).To(HaveLen(2))
	for _, w := range works.Items {
		g.Expect(w.Name).To(BeElementOf(placementv1beta1.WorkName(crp), placementv1beta1.SubWorkName(crp, 0)))
		g.Expect(w.Labels).To(HaveKeyWithValue(placementv1beta1.ParentBindingLabel, b.Name))
		g.Expect(w.Labels).To(HaveKeyWithValue(placementv1beta1.CRPTrackingLabel, crp))
		g.Expect(w.Labels).To(HaveKeyWithValue(placementv1beta1.ParentResourceSnapshotIndexLabel, "0"))
	}
	for _, cm := range []string{"a", "b"} {
		g.Expect(memberClient.Get(ctx, client.ObjectKey{Namespace: "wg", Name: cm}, &corev1.ConfigMap{})).To(Succeed())
	}

	// A new snapshot in one part with an invalid Service: the sub-Work goes (and with it
	// ConfigMap b), and the binding reports the failure with the member server's message.
	g.Expect(hubClient.Create(ctx, snapshot(t, crp, 1, -1, 1, configMap("wg", "a"),
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "bad", "namespace": "wg"},
			"spec": map[string]any{"ports": []any{map[string]any{"port": 70000}}}}))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(hubClient.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		b.Spec.ResourceSnapshotName = placementv1beta1.ResourceSnapshotName(crp, 1)
		g.Expect(hubClient.Update(ctx, b)).To(Succeed())
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		applied := condOf(g, placementv1beta1.ResourcesAppliedConditionType)
		g.Expect(applied.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(applied.Reason).To(Equal(placementv1beta1.ApplyFailedReason))
		g.Expect(b.Status.FailedPlacements).To(HaveLen(1))
		g.Expect(b.Status.FailedPlacements[0].ResourceIdentifier).To(Equal(placementv1beta1.ResourceIdentifier{Version: "v1", Kind: "Service", Name: "bad", Namespace: "wg"}))
		g.Expect(b.Status.FailedPlacements[0].Condition.Message).To(ContainSubstring("Invalid value: 70000"))
		g.Expect(meta.FindStatusCondition(b.Status.Conditions, string(placementv1beta1.ResourcesAvailableConditionType))).To(BeNil())
	}, timeout, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(hubClient.List(ctx, &works, client.InNamespace(ns))).To(Succeed())
		g.Expect(works.Items).To(HaveLen(1))
		g.Expect(apierrors.IsNotFound(memberClient.Get(ctx, client.ObjectKey{Namespace: "wg", Name: "b"}, &corev1.ConfigMap{}))).To(BeTrue())
	}, timeout, poll).Should(Succeed())

	// Deleting the binding deletes its Works first, then lets the binding go.
	g.Expect(hubClient.Delete(ctx, b)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(hubClient.Get(ctx, client.ObjectKeyFromObject(b), b))).To(BeTrue())
		g.Expect(hubClient.List(ctx, &works, client.InNamespace(ns))).To(Succeed())
		g.Expect(works.Items).To(BeEmpty())
		g.Expect(apierrors.IsNotFound(memberClient.Get(ctx, client.ObjectKey{Namespace: "wg", Name: "a"}, &corev1.ConfigMap{}))).To(BeTrue())
	}, time.Minute, poll).Should(Succeed())
}
