package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	inventory "github.com/flotilla-dev/flotilla/api/clusterinventory/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/hub/clusterprofile"
)

// TestClusterProfiles finds the members through the cluster inventory API, as a tool built
// on it would: one ClusterProfile per joined member, with its version, properties and health;
// an edit is set back and a deleted profile comes back.
func TestClusterProfiles(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Eventually(func(g Gomega) {
		var profiles inventory.ClusterProfileList
		g.Expect(fleet.Hub.List(ctx, &profiles, client.InNamespace(clusterprofile.Namespace),
			client.MatchingLabels{inventory.ClusterManagerLabel: clusterprofile.ManagerName})).To(Succeed())
		names := []string{}
		for _, p := range profiles.Items {
			names = append(names, p.Name)
			mc := member(g, p.Name)
			g.Expect(p.Spec.DisplayName).To(Equal(p.Name))
			g.Expect(p.Spec.ClusterManager.Name).To(Equal(clusterprofile.ManagerName))
			g.Expect(p.Status.Version.Kubernetes).NotTo(BeEmpty())
			g.Expect(p.Status.Version.Kubernetes).To(Equal(mc.Status.Properties[clusterv1beta1.PropertyKubernetesVersion].Value))
			g.Expect(p.Status.Properties).To(ContainElement(HaveField("Name", string(clusterv1beta1.PropertyNodeCount))))
			g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, inventory.ConditionControlPlaneHealthy)).To(BeTrue(), "%s: %v", p.Name, p.Status.Conditions)
			g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, inventory.ConditionJoined)).To(BeTrue())
		}
		g.Expect(names).To(ConsistOf("member-1", "member-2", "member-3"))
	}, wait, 200*time.Millisecond).Should(Succeed())

	key := client.ObjectKey{Namespace: clusterprofile.Namespace, Name: "member-1"}
	p := &inventory.ClusterProfile{}
	g.Expect(fleet.Hub.Get(ctx, key, p)).To(Succeed())
	p.Spec.DisplayName = "renamed"
	g.Expect(fleet.Hub.Update(ctx, p)).To(Succeed())
	g.Eventually(func(g Gomega) string {
		g.Expect(fleet.Hub.Get(ctx, key, p)).To(Succeed())
		return p.Spec.DisplayName
	}, wait, 200*time.Millisecond).Should(Equal("member-1"))

	uid := p.UID
	g.Expect(fleet.Hub.Delete(ctx, &inventory.ClusterProfile{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(fleet.Hub.Get(ctx, key, p)).To(Succeed())
		g.Expect(p.UID).NotTo(Equal(uid))
	}, wait, 200*time.Millisecond).Should(Succeed())
}
