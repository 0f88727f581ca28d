package serviceexport_test

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
	"github.com/flotilla-dev/flotilla/internal/member/serviceexport"
	"github.com/flotilla-dev/flotilla/internal/testenv"
	"github.com/flotilla-dev/flotilla/internal/testenv/nettest"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 1, &fleet) }

const hubNamespace = nettest.HubNamespace

// start runs only the export controller, for member-1, against the fleet's hub and member.
func start(t *testing.T) (hub, member client.Client) {
	t.Helper()
	return nettest.Start(t, fleet, func(mgr ctrl.Manager, mc cluster.Cluster) error {
		return serviceexport.Setup(mgr, serviceexport.Options{Member: mc, MemberName: nettest.MemberName})
	})
}

// The export on the hub carries every property the hub resolves with, and the ready
// endpoints; the hub's verdict comes back; deleting the ServiceExport withdraws it.
func TestExportCarriesThePropertiesAndFollowsTheHub(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	hub, member := start(t)
	g.Expect(member.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})).To(Succeed())
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"},
		Spec: corev1.ServiceSpec{
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, AppProtocol: ptr.To("http")}},
			SessionAffinity:       corev1.ServiceAffinityClientIP,
			SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](600)}},
			InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyLocal),
			TrafficDistribution:   ptr.To(corev1.ServiceTrafficDistributionPreferClose),
		},
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: "cart-1", Labels: map[string]string{discoveryv1.LabelServiceName: "cart"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"198.18.0.1"}, Hostname: ptr.To("cart-0")},
			{Addresses: []string{"198.18.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
		},
	}
	se := &mcsv1beta1.ServiceExport{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart", Annotations: map[string]string{networkingv1alpha1.WeightAnnotation: "7"}},
		Spec:       mcsv1beta1.ServiceExportSpec{ExportedLabels: map[string]string{"team": "shop"}, ExportedAnnotations: map[string]string{"owner": "x"}},
	}
	for _, o := range []client.Object{svc, es, se} {
		g.Expect(member.Create(ctx, o)).To(Succeed())
	}

	key := client.ObjectKey{Namespace: hubNamespace, Name: "shop.cart"}
	ise := &networkingv1alpha1.InternalServiceExport{}
	g.Eventually(func() error { return hub.Get(ctx, key, ise) }, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	s := ise.Spec
	g.Expect(s.Cluster).To(Equal("member-1"))
	g.Expect(s.Type).To(Equal(mcsv1beta1.ClusterSetIP))
	g.Expect(s.Ports).To(Equal([]mcsv1beta1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, AppProtocol: ptr.To("http")}}))
	g.Expect(s.SessionAffinity).To(Equal(corev1.ServiceAffinityClientIP))
	g.Expect(*s.SessionAffinityConfig.ClientIP.TimeoutSeconds).To(Equal(int32(600)))
	g.Expect(*s.InternalTrafficPolicy).To(Equal(corev1.ServiceInternalTrafficPolicyLocal))
	g.Expect(*s.TrafficDistribution).To(Equal(corev1.ServiceTrafficDistributionPreferClose))
	g.Expect(s.IPFamilies).To(Equal([]corev1.IPFamily{corev1.IPv4Protocol}))
	g.Expect(s.ExportedLabels).To(Equal(map[string]string{"team": "shop"}))
	g.Expect(s.ExportedAnnotations).To(Equal(map[string]string{"owner": "x"}))
	g.Expect(s.Weight).To(Equal(int32(7)))
	g.Expect(member.Get(ctx, client.ObjectKeyFromObject(se), se)).To(Succeed())
	g.Expect(s.ExportCreationTimestamp.Equal(&se.CreationTimestamp)).To(BeTrue())
	g.Expect(s.EndpointSlices).To(HaveLen(1))
	g.Expect(s.EndpointSlices[0].Endpoints).To(Equal([]networkingv1alpha1.ExportedEndpoint{{Addresses: []string{"198.18.0.1"}, Hostname: ptr.To("cart-0")}}))
	g.Expect(se.Finalizers).To(ContainElement(networkingv1alpha1.ServiceExportFinalizer))

	// Until the hub answers, Ready is Pending; then the hub's conditions are copied back.
	g.Eventually(func(g Gomega) {
		g.Expect(member.Get(ctx, client.ObjectKeyFromObject(se), se)).To(Succeed())
		c := meta.FindStatusCondition(se.Status.Conditions, "Ready")
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal("Pending"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	meta.SetStatusCondition(&ise.Status.Conditions, metav1.Condition{Type: "Conflict", Status: metav1.ConditionTrue, Reason: "PortConflict", Message: "from the hub"})
	meta.SetStatusCondition(&ise.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", Message: "from the hub"})
	g.Expect(hub.Status().Update(ctx, ise)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(member.Get(ctx, client.ObjectKeyFromObject(se), se)).To(Succeed())
		c := meta.FindStatusCondition(se.Status.Conditions, "Conflict")
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal("PortConflict"))
		g.Expect(meta.IsStatusConditionTrue(se.Status.Conditions, "Ready")).To(BeTrue())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Expect(member.Delete(ctx, se)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(hub.Get(ctx, key, &networkingv1alpha1.InternalServiceExport{})) &&
			apierrors.IsNotFound(member.Get(ctx, client.ObjectKeyFromObject(se), &mcsv1beta1.ServiceExport{}))
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue())
	// The Service and its slice are the user's: they stay.
	g.Expect(member.Get(ctx, client.ObjectKeyFromObject(svc), &corev1.Service{})).To(Succeed())
}
