package scheduler

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/version"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// propertyValue returns a member's property as a string. Properties come from the reported
// properties map; the resources.kubernetes-fleet.io names fall back to resourceUsage, which
// KubeFleet derives them from.
func propertyValue(mc *clusterv1beta1.MemberCluster, name string) (string, bool) {
	if v, ok := mc.Status.Properties[clusterv1beta1.PropertyName(name)]; ok {
		return v.Value, true
	}
	const prefix = "resources.kubernetes-fleet.io/"
	if !strings.HasPrefix(name, prefix) {
		return "", false
	}
	rest := strings.TrimPrefix(name, prefix) // e.g. available-cpu
	kind, res, ok := strings.Cut(rest, "-")
	if !ok {
		return "", false
	}
	var list corev1.ResourceList
	switch kind {
	case "total":
		list = mc.Status.ResourceUsage.Capacity
	case "allocatable":
		list = mc.Status.ResourceUsage.Allocatable
	case "available":
		list = mc.Status.ResourceUsage.Available
	default:
		return "", false
	}
	q, ok := list[corev1.ResourceName(res)]
	if !ok {
		return "", false
	}
	return q.String(), true
}

// compareValues compares two property values: as quantities (4, 500m, 16Gi) when both parse,
// else as versions (v1.35.2). It returns -1, 0 or 1, or an error when neither parses.
func compareValues(a, b string) (int, error) {
	qa, errA := resource.ParseQuantity(a)
	qb, errB := resource.ParseQuantity(b)
	if errA == nil && errB == nil {
		return qa.Cmp(qb), nil
	}
	va, errA := version.ParseGeneric(a)
	vb, errB := version.ParseGeneric(b)
	if errA == nil && errB == nil {
		return va.Compare(vb.String())
	}
	return 0, fmt.Errorf("%q and %q are neither both quantities nor both versions", a, b)
}

func propertyMatches(req placementv1beta1.PropertySelectorRequirement, mc *clusterv1beta1.MemberCluster) (bool, string) {
	if len(req.Values) != 1 {
		return false, fmt.Sprintf("property requirement %s needs exactly one value", req.Name)
	}
	have, ok := propertyValue(mc, req.Name)
	if !ok {
		return false, fmt.Sprintf("the cluster does not report the property %s", req.Name)
	}
	cmp, err := compareValues(have, req.Values[0])
	if err != nil {
		return false, fmt.Sprintf("property %s: %v", req.Name, err)
	}
	var match bool
	switch req.Operator {
	case placementv1beta1.PropertySelectorGreaterThan:
		match = cmp > 0
	case placementv1beta1.PropertySelectorGreaterThanOrEqualTo:
		match = cmp >= 0
	case placementv1beta1.PropertySelectorEqualTo:
		match = cmp == 0
	case placementv1beta1.PropertySelectorNotEqualTo:
		match = cmp != 0
	case placementv1beta1.PropertySelectorLessThan:
		match = cmp < 0
	case placementv1beta1.PropertySelectorLessThanOrEqualTo:
		match = cmp <= 0
	default:
		return false, fmt.Sprintf("property %s: unknown operator %q", req.Name, req.Operator)
	}
	if !match {
		return false, fmt.Sprintf("property %s is %s, not %s %s", req.Name, have, req.Operator, req.Values[0])
	}
	return true, ""
}

// propertyNumber returns a property as a float for sorting, when it is a quantity.
func propertyNumber(mc *clusterv1beta1.MemberCluster, name string) (float64, bool) {
	v, ok := propertyValue(mc, name)
	if !ok {
		return 0, false
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return 0, false
	}
	return q.AsApproximateFloat64(), true
}
