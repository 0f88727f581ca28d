package networking_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/loadbalancer"
	"github.com/flotilla-dev/flotilla/internal/member/serviceimport"
)

func mcs(ns, name, importName string) *networkingv1alpha1.MultiClusterService {
	return &networkingv1alpha1.MultiClusterService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       networkingv1alpha1.MultiClusterServiceSpec{ServiceImport: networkingv1alpha1.ServiceImportRef{Name: importName}},
	}
}

func mcsValid(g Gomega, member, ns, name string) (*metav1.Condition, *networkingv1alpha1.MultiClusterService) {
	m := &networkingv1alpha1.MultiClusterService{}
	g.Expect(members[member].Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, m)).To(Succeed())
	c := meta.FindStatusCondition(m.Status.Conditions, networkingv1alpha1.MultiClusterServiceConditionValid)
	g.Expect(c).NotTo(BeNil())
	return c, m
}

func derivedType(g Gomega, member, ns, name string) corev1.ServiceType {
	svc := &corev1.Service{}
	g.Expect(members[member].Get(context.Background(), client.ObjectKey{Namespace: ns, Name: serviceimport.DerivedServiceName(name)}, svc)).To(Succeed())
	return svc.Spec.Type
}

// Only one MultiClusterService in the fleet holds an import: a second one waits with
// Valid=Unknown and takes over when the first is deleted.
func TestSingleImporter(t *testing.T) {
	g := NewWithT(t)
	ns := "lb"
	namespace(t, ns)
	svc := service(ns, "web", "http:80")
	create(t, "member-3", svc, slice(svc, "web-1", endpoint{"198.18.13.1", true}), export(ns, "web"))

	// A MultiClusterService for an import that does not exist yet waits.
	create(t, "member-1", mcs(ns, "missing", "nothing"))
	g.Eventually(func(g Gomega) {
		c, _ := mcsValid(g, "member-1", ns, "missing")
		g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(c.Reason).To(Equal(networkingv1alpha1.ReasonUnknownServiceImport))
	}, timeout, 100*time.Millisecond).Should(Succeed())

	create(t, "member-1", mcs(ns, "first", "web"))
	var firstIP string
	g.Eventually(func(g Gomega) {
		c, m := mcsValid(g, "member-1", ns, "first")
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(c.Reason).To(Equal(networkingv1alpha1.ReasonFoundServiceImport))
		g.Expect(derivedType(g, "member-1", ns, "web")).To(Equal(corev1.ServiceTypeLoadBalancer))
		g.Expect(m.Status.LoadBalancer.Ingress).To(HaveLen(1))
		firstIP = m.Status.LoadBalancer.Ingress[0].IP
	}, timeout, 100*time.Millisecond).Should(Succeed())
	g.Expect(loadbalancer.DefaultRange.Contains(netip.MustParseAddr(firstIP))).To(BeTrue(), firstIP)

	create(t, "member-2", mcs(ns, "second", "web"))
	g.Eventually(func(g Gomega) {
		c, m := mcsValid(g, "member-2", ns, "second")
		g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(c.Reason).To(Equal(networkingv1alpha1.ReasonUnknownServiceImport))
		g.Expect(c.Message).To(ContainSubstring("member-1"))
		g.Expect(m.Status.LoadBalancer.Ingress).To(BeEmpty())
		g.Expect(derivedType(g, "member-2", ns, "web")).To(Equal(corev1.ServiceTypeClusterIP))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	// The first keeps the import while the second waits.
	c, _ := mcsValid(g, "member-1", ns, "first")
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))

	del(t, "member-1", mcs(ns, "first", "web"))
	g.Eventually(func(g Gomega) {
		c, m := mcsValid(g, "member-2", ns, "second")
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(derivedType(g, "member-2", ns, "web")).To(Equal(corev1.ServiceTypeLoadBalancer))
		g.Expect(m.Status.LoadBalancer.Ingress).To(HaveLen(1))
		g.Expect(derivedType(g, "member-1", ns, "web")).To(Equal(corev1.ServiceTypeClusterIP))
	}, timeout, 100*time.Millisecond).Should(Succeed())
}
