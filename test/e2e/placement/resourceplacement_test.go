package placement

import (
	"testing"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// namespaceAdmin returns a client for a ServiceAccount that is admin of ns only: bound to the
// built-in admin ClusterRole by a RoleBinding in ns, as a platform team gives an app team.
func namespaceAdmin(g Gomega, ns, name string) client.WithWatch {
	cs, err := kubernetes.NewForConfig(fleet.Fleet.Hub.Config)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fleet.Hub.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	})).To(Succeed())
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	c, err := client.NewWithWatch(&rest.Config{Host: fleet.Fleet.Hub.Config.Host, BearerToken: tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: fleet.Fleet.Hub.Config.CAData}}, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	return c
}

// placeNamespaceOnly places the namespace, without its contents, on every member, as a
// platform team does before a namespace's team places its own resources.
func placeNamespaceOnly(t *testing.T, g Gomega, ns string) {
	t.Helper()
	nsOnly := crp(ns+"-namespace", ns, nil)
	nsOnly.Spec.ResourceSelectors[0].SelectionScope = placementv1beta1.NamespaceOnly
	g.Expect(fleet.Hub.Create(ctx, nsOnly)).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, crp(ns+"-namespace", "", nil)) })
}

// TestResourcePlacementByNamespaceAdmin: a platform team places the namespace everywhere
// (NamespaceOnly); the namespace's admin, with no rights outside it, places its ConfigMap and
// Deployment on two of the three members with a PickN ResourcePlacement and watches it.
func TestResourcePlacementByNamespaceAdmin(t *testing.T) {
	g := NewWithT(t)
	const ns = "rp-team"
	app(g, ns)
	placeNamespaceOnly(t, g, ns)

	user := namespaceAdmin(g, ns, "team-admin")
	// The admin of rp-team can do nothing cluster-wide, nor in another namespace.
	g.Eventually(func() error {
		return user.List(ctx, &placementv1beta1.ResourcePlacementList{}, client.InNamespace(ns))
	}, wait).Should(Succeed(), "the aggregated admin role lets a namespace admin list ResourcePlacements")
	err := user.Create(ctx, crp("rp-team-sneaky", ns, nil))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "a namespace admin created a ClusterResourcePlacement: %v", err)
	other := &placementv1beta1.ResourcePlacement{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "ConfigMap", Name: "x"}}}}
	err = user.Create(ctx, other)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "a namespace admin created a ResourcePlacement in another namespace: %v", err)

	watch, err := user.Watch(ctx, &placementv1beta1.ResourcePlacementList{}, client.InNamespace(ns))
	g.Expect(err).NotTo(HaveOccurred())
	defer watch.Stop()

	rp := &placementv1beta1.ResourcePlacement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{
				{Version: "v1", Kind: "ConfigMap", Name: "settings"},
				{Group: "apps", Version: "v1", Kind: "Deployment", Name: "web"},
			},
			Policy: &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(int32(2))},
		}}
	g.Expect(user.Create(ctx, rp)).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, rp) })

	// The watch sees the placement, and its status as the hub writes it.
	var applied *metav1.Condition
	g.Eventually(func() bool {
		for {
			select {
			case ev := <-watch.ResultChan():
				if p, ok := ev.Object.(*placementv1beta1.ResourcePlacement); ok && p.Name == "web" {
					if c := meta.FindStatusCondition(p.Status.Conditions, "ResourcePlacementApplied"); c != nil && c.Status == metav1.ConditionTrue {
						applied = c
						return true
					}
				}
			default:
				return false
			}
		}
	}, wait).Should(BeTrue(), "the namespace admin's watch never showed ResourcePlacementApplied=True")
	g.Expect(applied.ObservedGeneration).To(Equal(int64(1)))

	g.Eventually(func(g Gomega) []string { return holders(g, ns, "hello") }, wait).Should(HaveLen(2))
	got := &placementv1beta1.ResourcePlacement{}
	g.Expect(user.Get(ctx, client.ObjectKeyFromObject(rp), got)).To(Succeed())
	g.Expect(got.Status.PlacementStatuses).To(HaveLen(2))
	g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, "ResourcePlacementScheduled")).To(BeTrue())
	// Its bindings and snapshots are in its namespace, where its admin can read them.
	var bindings placementv1beta1.ResourceBindingList
	g.Expect(user.List(ctx, &bindings, client.InNamespace(ns))).To(Succeed())
	g.Expect(bindings.Items).To(HaveLen(2))
	var snaps placementv1beta1.ResourceSnapshotList
	g.Expect(user.List(ctx, &snaps, client.InNamespace(ns))).To(Succeed())
	g.Expect(snaps.Items).NotTo(BeEmpty())
	// The namespace-only placement keeps the namespace on the third member, without the app.
	for _, m := range memberNames() {
		g.Expect(memberClient(g, m).Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})).To(Succeed(), "namespace on %s", m)
	}

	// Deleting the ResourcePlacement removes what it placed, and leaves the namespace.
	g.Expect(user.Delete(ctx, rp)).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, ns, "hello") }, wait).Should(BeEmpty())
	for _, m := range memberNames() {
		g.Expect(memberClient(g, m).Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})).To(Succeed(), "namespace on %s", m)
	}
}

// TestResourcePlacementWithoutItsNamespace: where the namespace is not on the member, the
// placement's per-cluster status says so and names the fix.
func TestResourcePlacementWithoutItsNamespace(t *testing.T) {
	g := NewWithT(t)
	const ns = "rp-alone"
	configApp(g, ns)
	rp := &placementv1beta1.ResourcePlacement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "ConfigMap", Name: "settings"}}}}
	g.Expect(fleet.Hub.Create(ctx, rp)).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, rp) })
	g.Eventually(func(g Gomega) {
		got := &placementv1beta1.ResourcePlacement{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKeyFromObject(rp), got)).To(Succeed())
		g.Expect(got.Status.PlacementStatuses).To(HaveLen(len(memberNames())))
		for _, ps := range got.Status.PlacementStatuses {
			c := meta.FindStatusCondition(ps.Conditions, string(placementv1beta1.ResourcesAppliedConditionType))
			g.Expect(c).NotTo(BeNil(), "no Applied on %s", ps.ClusterName)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ps.FailedPlacements).NotTo(BeEmpty())
			g.Expect(ps.FailedPlacements[0].Condition.Message).To(ContainSubstring("namespace rp-alone is not on this member"))
			g.Expect(ps.FailedPlacements[0].Condition.Message).To(ContainSubstring("selectionScope NamespaceOnly"))
		}
	}, wait).Should(Succeed())
	// A cluster-scoped kind is refused, naming the selector.
	bad := &placementv1beta1.ResourcePlacement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cluster-wide"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "view"}}}}
	g.Expect(fleet.Hub.Create(ctx, bad)).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, bad) })
	g.Eventually(func(g Gomega) {
		got := &placementv1beta1.ResourcePlacement{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKeyFromObject(bad), got)).To(Succeed())
		c := meta.FindStatusCondition(got.Status.Conditions, "ResourcePlacementScheduled")
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Message).To(ContainSubstring("spec.resourceSelectors[0]"))
		g.Expect(c.Message).To(ContainSubstring("cluster-scoped"))
	}, wait).Should(Succeed())
}

// TestStagedUpdateRunOfAResourcePlacement: a namespace admin rolls an External
// ResourcePlacement out with a StagedUpdateRun of the namespace, and approves its
// ApprovalRequest, all within the namespace.
func TestStagedUpdateRunOfAResourcePlacement(t *testing.T) {
	g := NewWithT(t)
	const ns = "rp-staged"
	configApp(g, ns)
	placeNamespaceOnly(t, g, ns)
	user := namespaceAdmin(g, ns, "team-admin")
	g.Eventually(func() error {
		return user.List(ctx, &placementv1beta1.StagedUpdateRunList{}, client.InNamespace(ns))
	}, wait).Should(Succeed())

	rp := &placementv1beta1.ResourcePlacement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "ConfigMap", Name: "settings"}},
			Strategy:          placementv1beta1.RolloutStrategy{Type: placementv1beta1.ExternalRolloutStrategyType}}}
	g.Expect(user.Create(ctx, rp)).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, rp) })
	g.Expect(user.Create(ctx, &placementv1beta1.StagedUpdateStrategy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "approved"},
		Spec: placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{{Name: "all",
			BeforeStageTasks: []placementv1beta1.StageTask{{Type: placementv1beta1.StageTaskTypeApproval}}}}}})).To(Succeed())
	run := &placementv1beta1.StagedUpdateRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "first"},
		Spec: placementv1beta1.UpdateRunSpec{PlacementName: "settings", StagedUpdateStrategyName: "approved", State: placementv1beta1.UpdateRunStateRun}}
	g.Expect(user.Create(ctx, run)).To(Succeed())

	const approval = "first-before-all"
	ar := &placementv1beta1.ApprovalRequest{}
	g.Eventually(func() error { return user.Get(ctx, client.ObjectKey{Namespace: ns, Name: approval}, ar) }, wait).Should(Succeed())
	g.Expect(ar.Spec).To(Equal(placementv1beta1.ApprovalRequestSpec{TargetUpdateRun: "first", TargetStage: "all"}))
	g.Expect(greetingOn(g, ns)).To(BeEmpty(), "placed before the approval")
	meta.SetStatusCondition(&ar.Status.Conditions, metav1.Condition{Type: placementv1beta1.ApprovalRequestApprovedConditionType,
		Status: metav1.ConditionTrue, Reason: "Approved", Message: "the team approves", ObservedGeneration: ar.Generation})
	g.Expect(user.Status().Update(ctx, ar)).To(Succeed())

	g.Eventually(func(g Gomega) {
		got := &placementv1beta1.StagedUpdateRun{}
		g.Expect(user.Get(ctx, client.ObjectKeyFromObject(run), got)).To(Succeed())
		c := meta.FindStatusCondition(got.Status.Conditions, placementv1beta1.UpdateRunSucceededConditionType)
		g.Expect(c).NotTo(BeNil(), "%+v", got.Status.Conditions)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(got.Status.StagesStatus[0].Clusters).To(HaveLen(len(memberNames())))
	}, wait).Should(Succeed())
	g.Eventually(func(g Gomega) map[string]string { return greetingOn(g, ns) }, wait).Should(HaveLen(len(memberNames())))
}
