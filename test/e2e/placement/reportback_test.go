package placement

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
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
