package placement

import (
	"bytes"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/cli"
)

// configApp creates, on the hub, a namespace with one ConfigMap: objects that are available
// as soon as they are applied, so that a disruption budget counts every member.
func configApp(g Gomega, ns string) {
	g.Expect(fleet.Hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"},
		Data: map[string]string{"greeting": "hello"}})).To(Succeed())
}

// configHolders are the members that have the ConfigMap of configApp(ns).
func configHolders(g Gomega, ns string) []string {
	var out []string
	for _, m := range memberNames() {
		cm := &corev1.ConfigMap{}
		err := memberClient(g, m).Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, cm)
		if apierrors.IsNotFound(err) || (err == nil && cm.DeletionTimestamp != nil) {
			continue
		}
		g.Expect(err).NotTo(HaveOccurred())
		out = append(out, m)
	}
	return out
}

// availableOn waits until the placement reports Available on every given member.
func availableOn(g Gomega, crp string, members ...string) {
	g.Eventually(func(g Gomega) {
		for _, m := range members {
			c := memberCondition(g, crp, m, placementv1beta1.ResourcesAvailableConditionType)
			g.Expect(c).NotTo(BeNil(), "no Available on %s", m)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s on %s: %s", crp, m, c.Message)
		}
	}, wait).Should(Succeed())
}

// setTaints writes a member's taints, as kubectl fleet draincluster and uncordoncluster do.
func setTaints(g Gomega, member string, taints []clusterv1beta1.Taint) {
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		mc := &clusterv1beta1.MemberCluster{}
		if err := fleet.Hub.Get(ctx, client.ObjectKey{Name: member}, mc); err != nil {
			return err
		}
		mc.Spec.Taints = taints
		return fleet.Hub.Update(ctx, mc)
	})).To(Succeed())
}

var cordon = []clusterv1beta1.Taint{{Key: clusterv1beta1.CordonTaintKey, Value: clusterv1beta1.CordonTaintValue, Effect: corev1.TaintEffectNoSchedule}}

func evict(g Gomega, name, placement, member string) {
	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ClusterResourcePlacementEviction{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       placementv1beta1.PlacementEvictionSpec{PlacementName: placement, ClusterName: member},
	})).To(Succeed())
}

// evictionCondition waits for an eviction's condition of type t, and returns it.
func evictionCondition(g Gomega, name, t string) metav1.Condition {
	var c *metav1.Condition
	g.Eventually(func(g Gomega) {
		e := &placementv1beta1.ClusterResourcePlacementEviction{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: name}, e)).To(Succeed())
		c = meta.FindStatusCondition(e.Status.Conditions, t)
		g.Expect(c).NotTo(BeNil(), "no %s on eviction %s: %v", t, name, e.Status.Conditions)
	}, wait).Should(Succeed())
	return *c
}

// TestEvictionAndDisruptionBudget makes KubeFleet's draincluster writes through the API, in
// its order (the cordon taint, then an eviction per placement), and its uncordoncluster
// write (the taint removed): an eviction within the budget removes the placement from one
// member and the scheduler leaves the cordoned member alone; one that would break
// minAvailable is refused with its condition; uncordoning lets the placement back.
func TestEvictionAndDisruptionBudget(t *testing.T) {
	g := NewWithT(t)
	ms := memberNames()
	configApp(g, "evict")
	g.Expect(fleet.Hub.Create(ctx, crp("evict", "evict", nil))).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, crp("evict", "", nil)) })
	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ClusterResourcePlacementDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "evict"},
		Spec:       placementv1beta1.PlacementDisruptionBudgetSpec{MinAvailable: ptrIntOrString(intstr.FromInt32(2))},
	})).To(Succeed())
	availableOn(g, "evict", ms...)

	// Cordon the third member, then evict from it: allowed, since 3 are available.
	setTaints(g, ms[2], cordon)
	t.Cleanup(func() { setTaints(NewWithT(t), ms[2], nil) })
	evict(g, "evict-third", "evict", ms[2])
	g.Expect(evictionCondition(g, "evict-third", placementv1beta1.EvictionValidConditionType).Status).To(Equal(metav1.ConditionTrue))
	executed := evictionCondition(g, "evict-third", placementv1beta1.EvictionExecutedConditionType)
	g.Expect(executed.Status).To(Equal(metav1.ConditionTrue), executed.Message)
	g.Expect(executed.Message).To(ContainSubstring("availablePlacements: 3, totalPlacements: 3"))
	g.Eventually(func(g Gomega) []string { return configHolders(g, "evict") }, wait).Should(Equal(ms[:2]))

	// A second eviction would leave one available: refused.
	evict(g, "evict-second", "evict", ms[1])
	refused := evictionCondition(g, "evict-second", placementv1beta1.EvictionExecutedConditionType)
	g.Expect(refused.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(refused.Reason).To(Equal(placementv1beta1.EvictionNotExecutedReason))
	g.Expect(refused.Message).To(Equal("Eviction is blocked by specified ClusterResourcePlacementDisruptionBudget, availablePlacements: 2, totalPlacements: 2"))

	// An eviction from a member the placement is not on is invalid.
	evict(g, "evict-absent", "evict", ms[2])
	invalid := evictionCondition(g, "evict-absent", placementv1beta1.EvictionValidConditionType)
	g.Expect(invalid.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(invalid.Message).To(Equal("Failed to find scheduler decision for placement in cluster targeted by eviction"))

	// The cordoned member is left alone, and the refused eviction took nothing.
	g.Expect(configHolders(g, "evict")).To(Equal(ms[:2]))
	// Uncordoned, the PickAll placement comes back to it.
	setTaints(g, ms[2], nil)
	g.Eventually(func(g Gomega) []string { return configHolders(g, "evict") }, wait).Should(Equal(ms), func() string {
		var bs placementv1beta1.ClusterResourceBindingList
		_ = fleet.Hub.List(ctx, &bs, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: "evict"})
		var snaps placementv1beta1.ClusterSchedulingPolicySnapshotList
		_ = fleet.Hub.List(ctx, &snaps, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: "evict"})
		mc := &clusterv1beta1.MemberCluster{}
		_ = fleet.Hub.Get(ctx, client.ObjectKey{Name: ms[2]}, mc)
		out := ""
		for _, b := range bs.Items {
			out += fmt.Sprintf("binding %s %s %s del=%v cond=%v\n", b.Name, b.Spec.TargetCluster, b.Spec.State, b.DeletionTimestamp, b.Status.Conditions)
		}
		for _, sn := range snaps.Items {
			out += fmt.Sprintf("snap %s %v\n", sn.Name, sn.Status.ClusterDecisions)
		}
		return out + fmt.Sprintf("member %+v", mc.Spec)
	})
	for _, name := range []string{"evict-third", "evict-second", "evict-absent"} {
		g.Expect(fleet.Hub.Delete(ctx, &placementv1beta1.ClusterResourcePlacementEviction{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	}
	g.Expect(fleet.Hub.Delete(ctx, &placementv1beta1.ClusterResourcePlacementDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "evict"}})).To(Succeed())
}

func ptrIntOrString(v intstr.IntOrString) *intstr.IntOrString { return &v }

// TestDrainAndUncordon empties a member of two placements with `flotilla member drain`,
// keeps a new placement off it, and lets placements reach it again after `uncordon`.
func TestDrainAndUncordon(t *testing.T) {
	g := NewWithT(t)
	ms := memberNames()
	kubeconfig := fleet.Fleet.Hub.KubeconfigPath
	for _, name := range []string{"drain-a", "drain-b"} {
		configApp(g, name)
		g.Expect(fleet.Hub.Create(ctx, crp(name, name, nil))).To(Succeed())
		t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, crp(name, "", nil)) })
		availableOn(g, name, ms...)
	}
	t.Cleanup(func() { setTaints(NewWithT(t), ms[1], nil) })

	var out bytes.Buffer
	g.Expect(cli.Main([]string{"member", "drain", ms[1], "--kubeconfig", kubeconfig, "--timeout", "2m"}, &out, &out)).To(Equal(0), out.String())
	g.Expect(out.String()).To(And(ContainSubstring("evicted: drain-a"), ContainSubstring("evicted: drain-b"),
		ContainSubstring("member "+ms[1]+" drained")))
	// drain waits until the placements left the member.
	for _, name := range []string{"drain-a", "drain-b"} {
		g.Expect(configHolders(g, name)).To(Equal([]string{ms[0], ms[2]}), name)
	}
	mc := &clusterv1beta1.MemberCluster{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: ms[1]}, mc)).To(Succeed())
	g.Expect(mc.Spec.Taints).To(ContainElement(cordon[0]))

	// A new placement stays off the cordoned member.
	configApp(g, "drain-c")
	g.Expect(fleet.Hub.Create(ctx, crp("drain-c", "drain-c", nil))).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, crp("drain-c", "", nil)) })
	availableOn(g, "drain-c", ms[0], ms[2])
	g.Expect(configHolders(g, "drain-c")).To(Equal([]string{ms[0], ms[2]}))

	// Draining again finds nothing to evict.
	out.Reset()
	g.Expect(cli.Main([]string{"member", "drain", ms[1], "--kubeconfig", kubeconfig}, &out, &out)).To(Equal(0), out.String())
	g.Expect(out.String()).To(ContainSubstring("no placement on member " + ms[1]))

	out.Reset()
	g.Expect(cli.Main([]string{"member", "uncordon", ms[1], "--kubeconfig", kubeconfig}, &out, &out)).To(Equal(0), out.String())
	g.Expect(out.String()).To(ContainSubstring("member " + ms[1] + " uncordoned"))
	g.Eventually(func(g Gomega) []string { return configHolders(g, "drain-c") }, wait).Should(Equal(ms))

	// A member that does not exist is an error that says so.
	out.Reset()
	g.Expect(cli.Main([]string{"member", "drain", "no-such-member", "--kubeconfig", kubeconfig}, &out, &out)).NotTo(Equal(0))
	g.Expect(out.String()).To(ContainSubstring("no member no-such-member on the hub"))
}
