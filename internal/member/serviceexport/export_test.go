package serviceexport

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
)

// The controller's behaviour against real API servers is tested with the rest of
// multi-cluster networking in internal/hub/networking; these are its pure parts.

func TestParseWeight(t *testing.T) {
	for v, want := range map[string]int32{"0": 0, "1": 1, "1000": 1000, "17": 17} {
		got, err := ParseWeight(map[string]string{networkingv1alpha1.WeightAnnotation: v})
		if err != nil || got != want {
			t.Errorf("%q: got %d, %v", v, got, err)
		}
	}
	if got, err := ParseWeight(nil); err != nil || got != 1 {
		t.Errorf("no annotation: got %d, %v", got, err)
	}
	for _, bad := range []string{"", "-1", "1001", "1.5", "ten", " 5"} {
		_, err := ParseWeight(map[string]string{networkingv1alpha1.WeightAnnotation: bad})
		if err == nil || !strings.Contains(err.Error(), networkingv1alpha1.WeightAnnotation) {
			t.Errorf("%q: the error must name the annotation, got %v", bad, err)
		}
	}
}

func TestBuildExport(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	se := &mcsv1beta1.ServiceExport{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", CreationTimestamp: created},
		Spec:       mcsv1beta1.ServiceExportSpec{ExportedLabels: map[string]string{"a": "b"}},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone, SessionAffinity: corev1.ServiceAffinityNone,
			InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyLocal),
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
	slices := []discoveryv1.EndpointSlice{
		{
			ObjectMeta:  metav1.ObjectMeta{Name: "b"},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.0.0.2"}, Hostname: ptr.To("web-1")},
				{Addresses: []string{"10.0.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
				{Addresses: []string{"10.0.0.4"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Terminating: ptr.To(true)}},
			},
		},
		{ObjectMeta: metav1.ObjectMeta{Name: "a"}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "imported", Labels: map[string]string{discoveryv1.LabelManagedBy: networkingv1alpha1.ManagedBy}},
			AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.9.9.9"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "c"}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}}}},
	}
	spec := BuildExport("member-1", se, svc, slices, 3)
	if spec.Type != mcsv1beta1.Headless || spec.Weight != 3 || spec.Cluster != "member-1" || !spec.ExportCreationTimestamp.Equal(&created) {
		t.Fatalf("spec: %+v", spec)
	}
	if spec.SessionAffinity != "" || *spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal || spec.ExportedLabels["a"] != "b" {
		t.Fatalf("properties: %+v", spec)
	}
	var got []string
	for _, s := range spec.EndpointSlices {
		for _, e := range s.Endpoints {
			got = append(got, e.Addresses[0])
		}
	}
	if strings.Join(got, ",") != "10.0.0.1,10.0.0.2" {
		t.Fatalf("only ready, not terminating endpoints of the Service's own slices, in slice name order: %v", got)
	}
	if len(spec.EndpointSlices) != 2 || *spec.EndpointSlices[1].Endpoints[0].Hostname != "web-1" {
		t.Fatalf("slices: %+v", spec.EndpointSlices)
	}
	if zero := BuildExport("member-1", se, svc, slices, 0); len(zero.EndpointSlices) != 0 {
		t.Fatalf("weight 0 exports no endpoints: %+v", zero.EndpointSlices)
	}
}
