package multiclusterservice_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member/multiclusterservice"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/nettest"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 1, &fleet) }

const hubNamespace = nettest.HubNamespace

// The MultiClusterService controller alone: it reports Valid and copies the load
// balancer; the hub's grant and the derived Service are written by hand here.
func TestValidAndLoadBalancerStatus(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub, member := nettest.Start(t, fleet, func(mgr ctrl.Manager, mc cluster.Cluster) error {
		return multiclusterservice.Setup(mgr, multiclusterservice.Options{Member: mc, MemberName: nettest.MemberName})
	})

	g.Expect(member.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})).To(Succeed())
	mcs := &networkingv1alpha1.MultiClusterService{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"},
		Spec: networkingv1alpha1.MultiClusterServiceSpec{ServiceImport: networkingv1alpha1.ServiceImportRef{Name: "cart"}}}
	g.Expect(member.Create(ctx, mcs)).To(Succeed())
	valid := func(status metav1.ConditionStatus, reason, msg string) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			g.Expect(member.Get(ctx, client.ObjectKeyFromObject(mcs), mcs)).To(Succeed())
			c := meta.FindStatusCondition(mcs.Status.Conditions, "Valid")
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(status), c.Message)
			g.Expect(c.Reason).To(Equal(reason))
			g.Expect(c.Message).To(ContainSubstring(msg))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	}
	valid(metav1.ConditionUnknown, networkingv1alpha1.ReasonUnknownServiceImport, "there is no ServiceImport cart")

	imp := &networkingv1alpha1.InternalServiceImport{
		ObjectMeta: metav1.ObjectMeta{Namespace: hubNamespace, Name: "shop.cart"},
		Spec: networkingv1alpha1.InternalServiceImportSpec{ServiceNamespace: "shop", ServiceName: "cart", Type: mcsv1beta1.ClusterSetIP,
			LoadBalancer: &networkingv1alpha1.MultiClusterServiceHolder{Cluster: "member-2", Name: "other"}},
	}
	g.Expect(hub.Create(ctx, imp)).To(Succeed())
	valid(metav1.ConditionUnknown, networkingv1alpha1.ReasonUnknownServiceImport, "MultiClusterService other on member member-2 holds")

	derived := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "derived-cart",
		Annotations: map[string]string{networkingv1alpha1.DerivedServiceFor: "cart"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: ptr.To(false),
			Ports: []corev1.ServicePort{{Port: 80}}}}
	g.Expect(member.Create(ctx, derived)).To(Succeed())
	derived.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "127.240.0.9"}}
	g.Expect(member.Status().Update(ctx, derived)).To(Succeed())
	g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(imp), imp)).To(Succeed())
	imp.Spec.LoadBalancer = &networkingv1alpha1.MultiClusterServiceHolder{Cluster: "member-1", Name: "cart"}
	g.Expect(hub.Update(ctx, imp)).To(Succeed())
	valid(metav1.ConditionTrue, networkingv1alpha1.ReasonFoundServiceImport, "holds ServiceImport cart")
	g.Eventually(func(g Gomega) {
		g.Expect(member.Get(ctx, client.ObjectKeyFromObject(mcs), mcs)).To(Succeed())
		g.Expect(mcs.Status.LoadBalancer.Ingress).To(HaveLen(1))
		g.Expect(mcs.Status.LoadBalancer.Ingress[0].IP).To(Equal("127.240.0.9"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Expect(hub.Delete(ctx, imp)).To(Succeed())
	valid(metav1.ConditionUnknown, networkingv1alpha1.ReasonUnknownServiceImport, "there is no ServiceImport cart")
	g.Expect(mcs.Status.LoadBalancer.Ingress).To(BeEmpty())
	g.Expect(apierrors.IsNotFound(hub.Get(ctx, client.ObjectKeyFromObject(imp), imp))).To(BeTrue())
}
