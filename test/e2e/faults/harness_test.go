package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/providers/local"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// objects is how many ConfigMaps each case places.
const objects = 20

// convergeWithin bounds the wait for the fleet to converge after a fault ends. The goal is
// two heartbeat periods; the time taken is logged, not asserted, because the machine may be
// loaded by other tests.
const convergeWithin = 3 * time.Minute

// oldImage is the node image the fake nodes are set back to before each case, so that the
// case's update run has work to do on every member.
const oldImage = local.ImageFamily + "-202510.01.0"

// fault is one case: what breaks, for how long, and who stays healthy.
type fault struct {
	name string
	// prepare runs before the placement and the update run exist; cleanup after the case.
	prepare, cleanup func() error
	// inject starts the fault, end ends it; the fault lasts hold in between.
	inject, end func() error
	hold        time.Duration
	// dead is a member that is down during the fault: its status must not read Available=True.
	dead string
	// healthy are the members nothing placed may be deleted from or applied to twice.
	healthy []string
}

func memberClient(t *testing.T, name string) client.Client {
	t.Helper()
	c, err := client.New(fleet.Member(name).Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func memberNames() []string {
	var out []string
	for _, m := range fleet.Members {
		out = append(out, m.Name)
	}
	return out
}

// run runs one fault case from start to end.
func (f fault) run(t *testing.T) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	ns := "fault-" + f.name
	resetNodeImages(t)
	if f.prepare != nil {
		g.Expect(f.prepare()).To(Succeed(), "preparing the case")
	}
	if f.cleanup != nil {
		t.Cleanup(func() {
			if err := f.cleanup(); err != nil {
				t.Errorf("cleaning up after the case: %v", err)
			}
		})
	}
	var recorders []*recorder
	for _, m := range f.healthy {
		recorders = append(recorders, record(t, m, ns))
	}

	// The placement of 20 objects and the update run start; the fault comes while they go.
	g.Expect(fleet.Hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	for i := 0; i < objects; i++ {
		g.Expect(fleet.Hub.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("object-%02d", i)},
			Data:       map[string]string{"case": f.name, "index": fmt.Sprint(i)},
		})).To(Succeed())
	}
	g.Expect(fleet.Hub.Create(ctx, &placementv1beta1.ClusterResourcePlacement{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: ns}},
			Policy: &placementv1beta1.PlacementPolicy{
				PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(int32(len(fleet.Members))),
			},
		},
	})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &u.UpdateRun{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
		Spec: u.UpdateRunSpec{State: u.RequestRunning, ManagedClusterUpdate: u.ManagedClusterUpdate{
			Upgrade:            u.UpgradeSpec{Type: u.UpgradeNodeImageOnly},
			NodeImageSelection: &u.NodeImageSelection{Type: u.NodeImageLatest},
		}},
	})).To(Succeed())
	t.Cleanup(func() {
		_ = fleet.Hub.Delete(ctx, &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		_ = fleet.Hub.Delete(ctx, &u.UpdateRun{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})

	if f.dead != "" {
		// The member to kill gets its objects first, so that its status has something to
		// stop claiming once it is dead; the update run is still going then.
		g.Eventually(func() metav1.ConditionStatus { return memberCondition(ns, f.dead) }, time.Minute, 100*time.Millisecond).
			Should(Equal(metav1.ConditionTrue))
	}
	g.Expect(f.inject()).To(Succeed(), "injecting the fault")
	faultEnds := time.Now().Add(f.hold)
	t.Logf("%s: fault injected for %s", f.name, f.hold)
	if f.dead != "" {
		// The agent notices within a health poll; from then on, until the fault ends, the
		// dead member's placement status must not claim Available=True.
		g.Eventually(func() metav1.ConditionStatus {
			return memberCondition(ns, f.dead)
		}, f.hold, 200*time.Millisecond).ShouldNot(Equal(metav1.ConditionTrue), "%s is down, yet its placement status says Available", f.dead)
	}
	if wait := time.Until(faultEnds); wait > 0 {
		// While the fault lasts, nothing placed on a healthy member goes away or is rewritten.
		g.Consistently(func(g Gomega) {
			for _, r := range recorders {
				g.Expect(r.problems()).To(BeEmpty())
			}
			if f.dead != "" {
				g.Expect(memberCondition(ns, f.dead)).NotTo(Equal(metav1.ConditionTrue), "%s is down, yet its placement status says Available", f.dead)
			}
		}, wait, 500*time.Millisecond).Should(Succeed())
	}
	g.Expect(f.end()).To(Succeed(), "ending the fault")
	ended := time.Now()

	g.Eventually(func(g Gomega) {
		placementConverged(g, ns, f.name)
	}, convergeWithin, 250*time.Millisecond).Should(Succeed())
	took := time.Since(ended)
	g.Eventually(func(g Gomega) {
		runConverged(g, ns)
	}, convergeWithin, 250*time.Millisecond).Should(Succeed())
	t.Logf("%s: the placement converged %s after the fault ended (goal: two heartbeat periods, %s); the update run completed %s after it",
		f.name, took.Round(10*time.Millisecond), 2*heartbeat, time.Since(ended).Round(10*time.Millisecond))
	for _, r := range recorders {
		g.Expect(r.problems()).To(BeEmpty())
	}
}

// memberCondition is the Available status of one member in the CRP's placement status;
// Unknown when there is none or the hub cannot be read.
func memberCondition(crp, member string) metav1.ConditionStatus {
	p := &placementv1beta1.ClusterResourcePlacement{}
	if err := fleet.Hub.Get(context.Background(), client.ObjectKey{Name: crp}, p); err != nil {
		return metav1.ConditionUnknown
	}
	for _, ps := range p.Status.PlacementStatuses {
		if ps.ClusterName != member {
			continue
		}
		if c := meta.FindStatusCondition(ps.Conditions, string(placementv1beta1.ResourcesAvailableConditionType)); c != nil {
			return c.Status
		}
	}
	return metav1.ConditionUnknown
}

// placementConverged checks the end state of a case's placement: every member holds every
// object as on the hub, and the placement is Available on every member.
func placementConverged(g Gomega, ns, name string) {
	ctx := context.Background()
	p := &placementv1beta1.ClusterResourcePlacement{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: ns}, p)).To(Succeed())
	available := meta.FindStatusCondition(p.Status.Conditions, string(placementv1beta1.CRPAvailableConditionType))
	g.Expect(available).NotTo(BeNil())
	g.Expect(available.Status).To(Equal(metav1.ConditionTrue), "%s: %s", available.Reason, available.Message)
	for _, m := range memberNames() {
		g.Expect(memberCondition(ns, m)).To(Equal(metav1.ConditionTrue), m)
		mc, err := client.New(fleet.Member(m).Config, client.Options{Scheme: scheme.Scheme})
		g.Expect(err).NotTo(HaveOccurred())
		var cms corev1.ConfigMapList
		g.Expect(mc.List(ctx, &cms, client.InNamespace(ns))).To(Succeed())
		placed := 0
		for _, cm := range cms.Items {
			if cm.Data["case"] == name && cm.DeletionTimestamp == nil {
				placed++
			}
		}
		g.Expect(placed).To(Equal(objects), "objects on %s", m)
	}
}

// runConverged checks the end state of a case's update run: it completed with every node
// on its region's newest image.
func runConverged(g Gomega, ns string) {
	ctx := context.Background()
	run := &u.UpdateRun{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: ns}, run)).To(Succeed())
	g.Expect(run.Status.State).To(Equal(u.StateCompleted), "update run: %+v", run.Status.Status)
	for i, m := range memberNames() {
		var nodes corev1.NodeList
		mc, err := client.New(fleet.Member(m).Config, client.Options{Scheme: scheme.Scheme})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(mc.List(ctx, &nodes)).To(Succeed())
		want := local.ImageFamily + "-" + local.DefaultCatalog(localfleet.KubeVersion)[localfleet.RegionOf(i+1)].NodeImages[local.ImageFamily]
		for _, n := range nodes.Items {
			g.Expect(n.Labels[local.NodeImageVersionLabel]).To(Equal(want), "%s/%s", m, n.Name)
		}
	}
}

// resetNodeImages sets every fake node back to the old image and waits until the members'
// upgrade profiles on the hub show it, so that the next update run upgrades every member.
func resetNodeImages(t *testing.T) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	for _, m := range memberNames() {
		mc := memberClient(t, m)
		var nodes corev1.NodeList
		g.Expect(mc.List(ctx, &nodes)).To(Succeed())
		for i := range nodes.Items {
			n := &nodes.Items[i]
			patch := client.MergeFrom(n.DeepCopy())
			n.Labels[local.NodeImageVersionLabel] = oldImage
			g.Expect(mc.Patch(ctx, n, patch)).To(Succeed())
		}
	}
	g.Eventually(func(g Gomega) {
		for _, m := range memberNames() {
			p := &u.MemberUpgradeProfile{}
			g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(m), Name: m}, p)).To(Succeed())
			g.Expect(p.Status.NodePools).NotTo(BeEmpty())
			for _, pool := range p.Status.NodePools {
				g.Expect(pool.ImageFamily+"-"+pool.NodeImageVersion).To(Equal(oldImage), "%s pool %s", m, pool.Name)
			}
		}
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
}
