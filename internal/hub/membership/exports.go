package membership

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
)

// Reasons of the ServicesExported condition.
const (
	ReasonExportsServices   = "MemberClusterExportsServices"
	ReasonExportsNoServices = "MemberClusterExportsNoServices"
)

// namedExports is how many exported services the condition's message names; the rest are
// counted.
const namedExports = 5

// servicesExported is the member's ServicesExported condition, from the InternalServiceExports
// in its hub namespace. The delete guard policy reads it: its message is the one a refused
// delete shows, so it names the services and how to proceed.
func servicesExported(mc *clusterv1beta1.MemberCluster, exports []networkingv1alpha1.InternalServiceExport) metav1.Condition {
	c := metav1.Condition{Type: clusterv1beta1.ConditionServicesExported, ObservedGeneration: mc.Generation}
	if len(exports) == 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, ReasonExportsNoServices, "the member exports no services"
		return c
	}
	names := make([]string, 0, len(exports))
	for _, e := range exports {
		names = append(names, e.Spec.ServiceNamespace+"/"+e.Spec.ServiceName)
	}
	sort.Strings(names)
	listed := strings.Join(names[:min(len(names), namedExports)], ", ")
	if more := len(names) - namedExports; more > 0 {
		listed += fmt.Sprintf(" and %d more", more)
	}
	c.Status, c.Reason = metav1.ConditionTrue, ReasonExportsServices
	c.Message = fmt.Sprintf("the member exports %d service(s): %s", len(names), listed)
	return c
}
