package placement

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// TestDeleteStrategyAbandon deletes a placement whose deleteStrategy is Abandon: what it
// placed stays on every member, no longer owned by Flotilla.
func TestDeleteStrategyAbandon(t *testing.T) {
	g := NewWithT(t)
	app(g, "abandon")
	p := crp("abandon", "abandon", nil)
	p.Spec.Strategy.DeleteStrategy = &placementv1beta1.DeleteStrategy{PropagationPolicy: placementv1beta1.DeletePropagationPolicyAbandon}
	g.Expect(fleet.Hub.Create(ctx, p)).To(Succeed())
	g.Eventually(func(g Gomega) []string { return holders(g, "abandon", "hello") }, wait).Should(Equal(memberNames()))
	// The policy reaches the members before the placement goes.
	g.Eventually(func(g Gomega) {
		var works placementv1beta1.WorkList
		g.Expect(fleet.Hub.List(ctx, &works, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: "abandon"})).To(Succeed())
		g.Expect(works.Items).To(HaveLen(len(memberNames())))
		for _, m := range memberNames() {
			aw := &placementv1beta1.AppliedWork{}
			g.Expect(memberClient(g, m).Get(ctx, client.ObjectKey{Name: placementv1beta1.WorkName("abandon")}, aw)).To(Succeed())
			g.Expect(aw.Annotations[placementv1beta1.DeletePropagationAnnotation]).To(Equal("Abandon"))
		}
	}, wait).Should(Succeed())

	g.Expect(fleet.Hub.Delete(ctx, p)).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, m := range memberNames() {
			err := memberClient(g, m).Get(ctx, client.ObjectKey{Name: placementv1beta1.WorkName("abandon")}, &placementv1beta1.AppliedWork{})
			g.Expect(client.IgnoreNotFound(err)).To(Succeed())
			g.Expect(err).To(HaveOccurred(), "the AppliedWork on %s is still there", m)
		}
	}, wait).Should(Succeed())
	g.Consistently(func(g Gomega) []string { return holders(g, "abandon", "hello") }, 3*time.Second).Should(Equal(memberNames()))
	for _, m := range memberNames() {
		cm := &corev1.ConfigMap{}
		g.Expect(memberClient(g, m).Get(ctx, client.ObjectKey{Namespace: "abandon", Name: "settings"}, cm)).To(Succeed())
		g.Expect(cm.OwnerReferences).To(BeEmpty(), "on %s", m)
	}
}
