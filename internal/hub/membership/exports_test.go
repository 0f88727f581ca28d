package membership

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
)

func TestServicesExported(t *testing.T) {
	export := func(ns, name string) networkingv1alpha1.InternalServiceExport {
		return networkingv1alpha1.InternalServiceExport{Spec: networkingv1alpha1.InternalServiceExportSpec{ServiceNamespace: ns, ServiceName: name}}
	}
	var seven []networkingv1alpha1.InternalServiceExport
	for i := 7; i > 0; i-- {
		seven = append(seven, export("app", fmt.Sprintf("svc-%d", i)))
	}
	for _, tc := range []struct {
		name    string
		exports []networkingv1alpha1.InternalServiceExport
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"none", nil, metav1.ConditionFalse, ReasonExportsNoServices, "the member exports no services"},
		{"two, sorted", []networkingv1alpha1.InternalServiceExport{export("web", "front"), export("api", "back")},
			metav1.ConditionTrue, ReasonExportsServices, "the member exports 2 service(s): api/back, web/front"},
		{"more than five are counted", seven, metav1.ConditionTrue, ReasonExportsServices,
			"the member exports 7 service(s): app/svc-1, app/svc-2, app/svc-3, app/svc-4, app/svc-5 and 2 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc := &clusterv1beta1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
			c := servicesExported(mc, tc.exports)
			if c.Type != clusterv1beta1.ConditionServicesExported || c.Status != tc.status || c.Reason != tc.reason ||
				c.Message != tc.message || c.ObservedGeneration != 3 {
				t.Fatalf("servicesExported = %+v; want %s %s %q", c, tc.status, tc.reason, tc.message)
			}
		})
	}
}
