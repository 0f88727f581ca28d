package placement

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// TestReportBackMirror reports each placed object's status on the member back into the
// Work, where the hub can read it.
func TestReportBackMirror(t *testing.T) {
	g := NewWithT(t)
	app(g, "mirror")
	p := crp("mirror", "mirror", nil)
	workAPI := placementv1beta1.ReportBackWorkAPI
	p.Spec.Strategy.ReportBackStrategy = &placementv1beta1.ReportBackStrategy{Type: placementv1beta1.ReportBackMirror, Destination: &workAPI}
	g.Expect(fleet.Hub.Create(ctx, p)).To(Succeed())
	g.Eventually(func(g Gomega) {
		var works placementv1beta1.WorkList
		g.Expect(fleet.Hub.List(ctx, &works, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: "mirror"})).To(Succeed())
		g.Expect(works.Items).To(HaveLen(len(memberNames())))
		for _, w := range works.Items {
			g.Expect(w.Spec.ReportBackStrategy).NotTo(BeNil())
			found := false
			for _, mc := range w.Status.ManifestConditions {
				if mc.Identifier.Kind != "Deployment" {
					continue
				}
				g.Expect(mc.BackReportedStatus).NotTo(BeNil(), w.Namespace)
				var observed struct {
					Kind     string         `json:"kind"`
					Metadata map[string]any `json:"metadata"`
					Status   map[string]any `json:"status"`
				}
				g.Expect(json.Unmarshal(mc.BackReportedStatus.ObservedStatus.Raw, &observed)).To(Succeed())
				g.Expect(observed.Kind).To(Equal("Deployment"))
				g.Expect(observed.Metadata["name"]).To(Equal("web"))
				g.Expect(observed.Status).NotTo(BeNil())
				found = true
			}
			g.Expect(found).To(BeTrue(), "no Deployment in Work %s/%s", w.Namespace, w.Name)
		}
	}, wait).Should(Succeed())
	g.Expect(fleet.Hub.Delete(ctx, crp("mirror", "", nil))).To(Succeed())
}

// TestReportBackToOriginalResource mirrors a placed Deployment's status on its one member
// onto the hub's own Deployment, when the placement picks exactly one member.
func TestReportBackToOriginalResource(t *testing.T) {
	g := NewWithT(t)
	app(g, "original")
	member := memberNames()[0]
	p := crp("original", "original", &placementv1beta1.PlacementPolicy{
		PlacementType: placementv1beta1.PickFixedPlacementType, ClusterNames: []string{member}})
	original := placementv1beta1.ReportBackOriginalResource
	p.Spec.Strategy.ReportBackStrategy = &placementv1beta1.ReportBackStrategy{Type: placementv1beta1.ReportBackMirror, Destination: &original}
	g.Expect(fleet.Hub.Create(ctx, p)).To(Succeed())
	t.Cleanup(func() { _ = fleet.Hub.Delete(ctx, crp("original", "", nil)) })

	// The local members run no Deployment controller: write the status it would write.
	mc := memberClient(g, member)
	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(mc.Get(ctx, client.ObjectKey{Namespace: "original", Name: "web"}, d)).To(Succeed())
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
		g.Expect(mc.Status().Update(ctx, d)).To(Succeed())
	}, wait).Should(Succeed())

	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Namespace: "original", Name: "web"}, d)).To(Succeed())
		g.Expect(d.Status.ReadyReplicas).To(Equal(int32(1)), "the hub's Deployment status: %+v", d.Status)
		g.Expect(d.Status.AvailableReplicas).To(Equal(int32(1)))
	}, wait).Should(Succeed())
}
