package membership_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// A Strict member (the default) that still exports a service is not deleted, and the refusal
// names the service and both ways on; once it exports nothing, or says Skip, it is.
func TestDeletingAMemberThatExportsServices(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	for _, name := range []string{"exporter", "skipper"} {
		g.Expect(c.Create(ctx, newMember(name))).To(Succeed())
		waitReady(t, c, name)
		g.Expect(c.Create(ctx, &networkingv1alpha1.InternalServiceExport{
			ObjectMeta: metav1.ObjectMeta{Namespace: clusterv1beta1.NamespaceForMember(name), Name: networkingv1alpha1.InternalName("shop", "cart")},
			Spec: networkingv1alpha1.InternalServiceExportSpec{
				Cluster: name, ServiceNamespace: "shop", ServiceName: "cart", Type: mcsv1beta1.ClusterSetIP,
				Weight: 1, ExportCreationTimestamp: metav1.Now(),
			},
		})).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(condition(g, c, name, clusterv1beta1.ConditionServicesExported).Status).To(Equal(metav1.ConditionTrue))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	}

	// Strict by default: refused, with the service, the field and the fix.
	err := c.Delete(ctx, &clusterv1beta1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: "exporter"}})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "deleting an exporting member: %v", err)
	g.Expect(err.Error()).To(And(ContainSubstring("member exporter is not deleted"), ContainSubstring("shop/cart"),
		ContainSubstring("spec.deleteOptions.validationMode: Skip")))
	mc := &clusterv1beta1.MemberCluster{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "exporter"}, mc)).To(Succeed())
	g.Expect(mc.DeletionTimestamp).To(BeNil())

	// Without the export, the condition turns False and the same delete goes through.
	g.Expect(c.Delete(ctx, &networkingv1alpha1.InternalServiceExport{ObjectMeta: metav1.ObjectMeta{
		Namespace: clusterv1beta1.NamespaceForMember("exporter"), Name: networkingv1alpha1.InternalName("shop", "cart")}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, c, "exporter", clusterv1beta1.ConditionServicesExported).Status).To(Equal(metav1.ConditionFalse))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(c.Delete(ctx, mc)).To(Succeed())

	// Skip deletes a member that still exports.
	skipper := &clusterv1beta1.MemberCluster{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "skipper"}, skipper)).To(Succeed())
	skipper.Spec.DeleteOptions = &clusterv1beta1.DeleteOptions{ValidationMode: clusterv1beta1.DeleteValidationSkip}
	g.Expect(c.Update(ctx, skipper)).To(Succeed())
	g.Expect(c.Delete(ctx, skipper)).To(Succeed())
}

// A member written without deleteOptions reads back as Strict, as KubeFleet defaults it.
func TestDeleteOptionsDefaultToStrict(t *testing.T) {
	g := NewWithT(t)
	c, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	mc := newMember("defaulted")
	mc.Spec.DeleteOptions = &clusterv1beta1.DeleteOptions{}
	g.Expect(c.Create(ctx, mc)).To(Succeed())
	t.Cleanup(func() { _ = c.Delete(ctx, mc) })
	g.Expect(mc.Spec.DeleteOptions.ValidationMode).To(Equal(clusterv1beta1.DeleteValidationStrict))
	g.Expect(mc.Spec.ValidationMode()).To(Equal(clusterv1beta1.DeleteValidationStrict))
}
