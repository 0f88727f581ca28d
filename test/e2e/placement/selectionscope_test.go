package placement

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// TestNamespaceWithResourceSelectors places a namespace with only the objects the other
// selectors pick: the ConfigMap, not the Deployment; a ConfigMap added later that matches
// follows.
func TestNamespaceWithResourceSelectors(t *testing.T) {
	g := NewWithT(t)
	app(g, "picked")
	p := &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: "picked"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{ResourceSelectors: []placementv1beta1.ClusterResourceSelector{
			{Version: "v1", Kind: "Namespace", Name: "picked", SelectionScope: placementv1beta1.NamespaceWithResourceSelectors},
			{Version: "v1", Kind: "ConfigMap", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"place": "yes"}}},
			{Version: "v1", Kind: "ConfigMap", Name: "settings"},
		}}}
	g.Expect(fleet.Hub.Create(ctx, p)).To(Succeed())
	for _, m := range memberNames() {
		mc := memberClient(g, m)
		g.Eventually(func(g Gomega) {
			g.Expect(mc.Get(ctx, client.ObjectKey{Namespace: "picked", Name: "settings"}, &corev1.ConfigMap{})).To(Succeed())
		}, wait).Should(Succeed(), m)
		err := mc.Get(ctx, client.ObjectKey{Namespace: "picked", Name: "web"}, &appsv1.Deployment{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Deployment on %s: %v", m, err)
	}
	g.Expect(fleet.Hub.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "picked", Name: "later",
		Labels: map[string]string{"place": "yes"}}, Data: map[string]string{"a": "b"}})).To(Succeed())
	for _, m := range memberNames() {
		mc := memberClient(g, m)
		g.Eventually(func() error {
			return mc.Get(ctx, client.ObjectKey{Namespace: "picked", Name: "later"}, &corev1.ConfigMap{})
		}, wait).Should(Succeed(), m)
	}
	g.Expect(fleet.Hub.Delete(ctx, p)).To(Succeed())
}
