package placement

import (
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// A placement written as placement.kubernetes-fleet.io/v1, as KubeFleet's examples are.
const v1Placement = `
apiVersion: placement.kubernetes-fleet.io/v1
kind: ClusterResourcePlacement
metadata:
  name: v1twin
spec:
  resourceSelectors:
    - group: ""
      version: v1
      kind: Namespace
      name: v1twin
  policy:
    placementType: PickN
    numberOfClusters: 2
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
`

// TestV1ManifestWorksAsItsV1beta1Twin places with a v1 manifest and checks that it works as
// the v1beta1 one does: the same object, placed the same way, with its status readable in
// both versions, and removed from the members when deleted through v1.
func TestV1ManifestWorksAsItsV1beta1Twin(t *testing.T) {
	g := NewWithT(t)
	app(g, "v1twin")
	u := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal([]byte(v1Placement), &u.Object)).To(Succeed())
	g.Expect(fleet.Hub.Create(ctx, u)).To(Succeed())

	g.Eventually(func(g Gomega) []string { return holders(g, "v1twin", "hello") }, wait).Should(HaveLen(2))
	g.Eventually(func(g Gomega) metav1.ConditionStatus {
		return crpCondition(g, "v1twin", placementv1beta1.CRPAppliedConditionType).Status
	}, wait).Should(Equal(metav1.ConditionTrue))

	// The same object, read as v1beta1.
	twin := &placementv1beta1.ClusterResourcePlacement{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: "v1twin"}, twin)).To(Succeed())
	g.Expect(twin.Spec.Policy.PlacementType).To(Equal(placementv1beta1.PickNPlacementType))
	g.Expect(*twin.Spec.Policy.NumberOfClusters).To(Equal(int32(2)))
	g.Expect(twin.Spec.ResourceSelectors).To(Equal([]placementv1beta1.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "v1twin", SelectionScope: placementv1beta1.NamespaceWithResources}}))

	// Its status, read as v1, says what the v1beta1 status says.
	asV1 := func(kind, name, ns string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("placement.kubernetes-fleet.io/v1")
		o.SetKind(kind)
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o)).To(Succeed())
		return o
	}
	statuses, _, err := unstructured.NestedSlice(asV1("ClusterResourcePlacement", "v1twin", "").Object, "status", "placementStatuses")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(statuses).To(HaveLen(2))

	// The other kinds are served as v1 too: the bindings, the Works and the members.
	var bindings placementv1beta1.ClusterResourceBindingList
	g.Expect(fleet.Hub.List(ctx, &bindings, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: "v1twin"})).To(Succeed())
	g.Expect(bindings.Items).To(HaveLen(2))
	b := asV1("ClusterResourceBinding", bindings.Items[0].Name, "")
	target, _, _ := unstructured.NestedString(b.Object, "spec", "targetCluster")
	g.Expect(target).To(Equal(bindings.Items[0].Spec.TargetCluster))
	members := &unstructured.UnstructuredList{}
	members.SetAPIVersion("cluster.kubernetes-fleet.io/v1")
	members.SetKind("MemberClusterList")
	g.Expect(fleet.Hub.List(ctx, members)).To(Succeed())
	g.Expect(members.Items).To(HaveLen(len(fleet.Members)))

	// The members report the namespace they hold, and which Work owns it.
	g.Eventually(func(g Gomega) {
		for _, m := range holders(g, "v1twin", "hello") {
			mc := &clusterv1beta1.MemberCluster{}
			g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: m}, mc)).To(Succeed())
			g.Expect(mc.Status.Namespaces).To(HaveKeyWithValue("v1twin", placementv1beta1.WorkName("v1twin")), m)
		}
	}, wait).Should(Succeed())

	// Deleted through v1, it leaves the members as a v1beta1 placement does.
	g.Expect(fleet.Hub.Delete(ctx, u)).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "v1twin", "hello") }, wait).Should(BeEmpty())
}

// TestStatusReportingScopeNamespaceAccessible writes the placement's status into the
// namespace it places, for users who may read only that namespace.
func TestStatusReportingScopeNamespaceAccessible(t *testing.T) {
	g := NewWithT(t)
	app(g, "nsstatus")
	p := crp("nsstatus", "nsstatus", nil)
	p.Spec.StatusReportingScope = placementv1beta1.NamespaceAccessible
	g.Expect(fleet.Hub.Create(ctx, p)).To(Succeed())
	g.Eventually(func(g Gomega) {
		s := &placementv1beta1.ClusterResourcePlacementStatus{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: "nsstatus", Name: "nsstatus"}, s)).To(Succeed())
		g.Expect(s.SourceStatus.PlacementStatuses).To(HaveLen(len(fleet.Members)))
		applied := false
		for _, c := range s.SourceStatus.Conditions {
			applied = applied || (c.Type == string(placementv1beta1.CRPAppliedConditionType) && c.Status == metav1.ConditionTrue)
		}
		g.Expect(applied).To(BeTrue(), "conditions %v", s.SourceStatus.Conditions)
		g.Expect(s.LastUpdatedTime.IsZero()).To(BeFalse())
	}, wait).Should(Succeed())

	// The scope cannot change afterwards (a conflict with the controllers' writes is retried).
	g.Eventually(func(g Gomega) string {
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: "nsstatus"}, p)).To(Succeed())
		p.Spec.StatusReportingScope = placementv1beta1.ClusterScopeOnly
		err := fleet.Hub.Update(ctx, p)
		g.Expect(err).To(HaveOccurred())
		g.Expect(apierrors.IsConflict(err)).To(BeFalse(), "%v", err)
		return err.Error()
	}, wait).Should(ContainSubstring("spec.statusReportingScope is immutable"))

	// The copy goes with the placement.
	g.Expect(fleet.Hub.Delete(ctx, crp("nsstatus", "", nil))).To(Succeed())
	g.Eventually(func() error {
		return fleet.Hub.Get(ctx, client.ObjectKey{Namespace: "nsstatus", Name: "nsstatus"}, &placementv1beta1.ClusterResourcePlacementStatus{})
	}, wait).Should(Satisfy(apierrors.IsNotFound))
}
