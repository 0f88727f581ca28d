package serviceimport_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
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
	"github.com/flotilla-dev/flotilla/internal/member/serviceimport"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/nettest"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 1, &fleet) }

const hubNamespace = nettest.HubNamespace

// start runs only the import controller, for member-1, against the fleet's hub and member.
func start(t *testing.T) (hub, member client.Client) {
	t.Helper()
	return nettest.Start(t, fleet, func(mgr ctrl.Manager, mc cluster.Cluster) error {
		return serviceimport.Setup(mgr, serviceimport.Options{Member: mc, MemberName: nettest.MemberName})
	})
}

func internalImport(ns, name string) *networkingv1alpha1.InternalServiceImport {
	return &networkingv1alpha1.InternalServiceImport{
		ObjectMeta: metav1.ObjectMeta{Namespace: hubNamespace, Name: networkingv1alpha1.InternalName(ns, name)},
		Spec: networkingv1alpha1.InternalServiceImportSpec{
			ServiceNamespace: ns, ServiceName: name, Type: mcsv1beta1.ClusterSetIP,
			Ports:    []mcsv1beta1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
			Labels:   map[string]string{"team": "shop"},
			Clusters: []string{"member-1", "member-2"},
			Endpoints: []networkingv1alpha1.ClusterEndpoints{
				{Cluster: "member-1", Weight: 1, EndpointSlices: []networkingv1alpha1.ExportedEndpointSlice{{
					AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
					Endpoints: []networkingv1alpha1.ExportedEndpoint{{Addresses: []string{"198.18.0.1"}}},
				}}},
				{Cluster: "member-2", Weight: 3, EndpointSlices: []networkingv1alpha1.ExportedEndpointSlice{{
					AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
					Endpoints: []networkingv1alpha1.ExportedEndpoint{{Addresses: []string{"198.18.0.2"}}, {Addresses: []string{"198.18.0.3"}}},
				}}},
			},
		},
	}
}

func TestImportMakesServiceImportDerivedServiceAndSlices(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub, member := start(t)
	imp := internalImport("shop", "cart")
	g.Expect(hub.Create(ctx, imp)).To(Succeed())

	// Without the namespace on the member, nothing is imported, and the hub hears why.
	g.Eventually(func(g Gomega) {
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(imp), imp)).To(Succeed())
		c := meta.FindStatusCondition(imp.Status.Conditions, "Ready")
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(serviceimport.ReasonNamespaceNotFound))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Expect(member.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})).To(Succeed())
	derived := &corev1.Service{}
	g.Eventually(func(g Gomega) {
		si := &mcsv1beta1.ServiceImport{}
		g.Expect(member.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "cart"}, si)).To(Succeed())
		g.Expect(member.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "derived-cart"}, derived)).To(Succeed())
		g.Expect(derived.Spec.Selector).To(BeEmpty())
		g.Expect(derived.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
		g.Expect(si.Spec.IPs).To(Equal(derived.Spec.ClusterIPs))
		g.Expect(si.Labels).To(HaveKeyWithValue("team", "shop"))
		g.Expect(si.Status.Clusters).To(Equal([]mcsv1beta1.ClusterStatus{{Cluster: "member-1"}, {Cluster: "member-2"}}))
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(imp), imp)).To(Succeed())
		g.Expect(imp.Status.IPs).To(Equal(derived.Spec.ClusterIPs), "the clusterset IP goes back to the hub")
		g.Expect(meta.IsStatusConditionTrue(imp.Status.Conditions, "Ready")).To(BeTrue())

		var slices discoveryv1.EndpointSliceList
		g.Expect(member.List(ctx, &slices, client.InNamespace("shop"), client.MatchingLabels{mcsv1beta1.LabelServiceName: "cart"})).To(Succeed())
		g.Expect(slices.Items).To(HaveLen(2))
		for _, s := range slices.Items {
			g.Expect(s.Labels).To(HaveKeyWithValue(discoveryv1.LabelServiceName, "derived-cart"))
			g.Expect(s.Labels).To(HaveKeyWithValue(discoveryv1.LabelManagedBy, networkingv1alpha1.ManagedBy))
			g.Expect(s.OwnerReferences).To(HaveLen(1))
			g.Expect(s.OwnerReferences[0].UID).To(Equal(derived.UID))
			if s.Labels[mcsv1beta1.LabelSourceCluster] == "member-2" {
				g.Expect(s.Endpoints).To(HaveLen(2))
				g.Expect(s.Annotations).To(HaveKeyWithValue(networkingv1alpha1.WeightAnnotation, "3"))
			}
		}
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// A MultiClusterService claims the import; once the hub grants it, the derived Service
	// becomes the load balancer.
	mcs := &networkingv1alpha1.MultiClusterService{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-lb"},
		Spec: networkingv1alpha1.MultiClusterServiceSpec{ServiceImport: networkingv1alpha1.ServiceImportRef{Name: "cart"}}}
	g.Expect(member.Create(ctx, mcs)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(imp), imp)).To(Succeed())
		g.Expect(imp.Status.MultiClusterService).NotTo(BeNil())
		g.Expect(imp.Status.MultiClusterService.Name).To(Equal("cart-lb"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(member.Get(ctx, client.ObjectKeyFromObject(derived), derived)).To(Succeed())
	g.Expect(derived.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP), "not a load balancer before the hub grants the claim")
	imp.Spec.LoadBalancer = &networkingv1alpha1.MultiClusterServiceHolder{Cluster: "member-1", Name: "cart-lb"}
	g.Expect(hub.Update(ctx, imp)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(member.Get(ctx, client.ObjectKeyFromObject(derived), derived)).To(Succeed())
		g.Expect(derived.Spec.Type).To(Equal(corev1.ServiceTypeLoadBalancer))
		g.Expect(derived.Spec.AllocateLoadBalancerNodePorts).To(Equal(ptr.To(false)))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(member.Delete(ctx, mcs)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(member.Get(ctx, client.ObjectKeyFromObject(derived), derived)).To(Succeed())
		g.Expect(derived.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(imp), imp)).To(Succeed())
		g.Expect(imp.Status.MultiClusterService).To(BeNil())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// The import goes: so does everything made for it, and nothing else.
	g.Expect(hub.Delete(ctx, imp)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(member.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "cart"}, &mcsv1beta1.ServiceImport{}))).To(BeTrue())
		g.Expect(apierrors.IsNotFound(member.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "derived-cart"}, &corev1.Service{}))).To(BeTrue())
		var slices discoveryv1.EndpointSliceList
		g.Expect(member.List(ctx, &slices, client.InNamespace("shop"), client.MatchingLabels{mcsv1beta1.LabelServiceName: "cart"})).To(Succeed())
		g.Expect(slices.Items).To(BeEmpty())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// A derived Service name that someone else uses is never taken over.
func TestDerivedServiceNameTaken(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub, member := start(t)
	g.Expect(member.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "taken"}})).To(Succeed())
	mine := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "taken", Name: "derived-cart"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 1234}}}}
	g.Expect(member.Create(ctx, mine)).To(Succeed())
	imp := internalImport("taken", "cart")
	g.Expect(hub.Create(ctx, imp)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(imp), imp)).To(Succeed())
		c := meta.FindStatusCondition(imp.Status.Conditions, "Ready")
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(serviceimport.ReasonNameTaken))
		g.Expect(c.Message).To(ContainSubstring("derived-cart"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(hub.Delete(ctx, imp)).To(Succeed())
	g.Consistently(func(g Gomega) {
		got := &corev1.Service{}
		g.Expect(member.Get(ctx, client.ObjectKeyFromObject(mine), got)).To(Succeed())
		g.Expect(got.Spec.Ports[0].Port).To(Equal(int32(1234)))
	}, time.Second, 100*time.Millisecond).Should(Succeed())
}
