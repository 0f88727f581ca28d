package eviction

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// facts are what one eviction is judged on.
type facts struct {
	eviction *placementv1beta1.ClusterResourcePlacementEviction
	// placement is nil when it does not exist.
	placement *placementv1beta1.ClusterResourcePlacement
	// bindings are the placement's bindings, on every member.
	bindings []placementv1beta1.ClusterResourceBinding
	// budget is nil when the placement has none.
	budget *placementv1beta1.ClusterResourcePlacementDisruptionBudget
}

// verdict is what to record, and the binding to delete when the eviction goes ahead.
type verdict struct {
	valid    metav1.Condition
	executed *metav1.Condition
	evict    *placementv1beta1.ClusterResourceBinding
}

// finished says whether an eviction already has its outcome: each eviction is carried out
// at most once, and one found invalid stays so even if it would be valid later.
func finished(e *placementv1beta1.ClusterResourcePlacementEviction) bool {
	return meta.IsStatusConditionFalse(e.Status.Conditions, placementv1beta1.EvictionValidConditionType) ||
		meta.FindStatusCondition(e.Status.Conditions, placementv1beta1.EvictionExecutedConditionType) != nil
}

// decide judges one eviction. The messages are KubeFleet's, so that its tools and runbooks
// read them the same.
func decide(f facts) verdict {
	gen := f.eviction.Generation
	invalid := func(message string) verdict {
		return verdict{valid: metav1.Condition{Type: placementv1beta1.EvictionValidConditionType, Status: metav1.ConditionFalse,
			Reason: placementv1beta1.EvictionInvalidReason, Message: message, ObservedGeneration: gen}}
	}
	p := f.placement
	switch {
	case p == nil:
		return invalid("Failed to find ClusterResourcePlacement targeted by eviction")
	case p.DeletionTimestamp != nil:
		return invalid("Found deleting ClusterResourcePlacement targeted by eviction")
	case p.Spec.Policy != nil && p.Spec.Policy.PlacementType == placementv1beta1.PickFixedPlacementType:
		return invalid("Found ClusterResourcePlacement with PickFixed placement type targeted by eviction")
	}
	var target []*placementv1beta1.ClusterResourceBinding
	for i := range f.bindings {
		if f.bindings[i].Spec.TargetCluster == f.eviction.Spec.ClusterName {
			target = append(target, &f.bindings[i])
		}
	}
	switch len(target) {
	case 0:
		return invalid("Failed to find scheduler decision for placement in cluster targeted by eviction")
	case 1:
	default:
		return invalid("Found more than one scheduler decision for placement in cluster targeted by eviction")
	}
	v := verdict{valid: metav1.Condition{Type: placementv1beta1.EvictionValidConditionType, Status: metav1.ConditionTrue,
		Reason: placementv1beta1.EvictionValidReason, Message: "Eviction is valid", ObservedGeneration: gen}}
	// outcome records Executed: True when the member's resources go (evict names the binding
	// to delete, or nil when it is already being deleted), False when the eviction is refused.
	outcome := func(executed bool, message string, evict *placementv1beta1.ClusterResourceBinding) verdict {
		status, reason := metav1.ConditionFalse, placementv1beta1.EvictionNotExecutedReason
		if executed {
			status, reason = metav1.ConditionTrue, placementv1beta1.EvictionExecutedReason
		}
		v.executed = &metav1.Condition{Type: placementv1beta1.EvictionExecutedConditionType, Status: status,
			Reason: reason, Message: message, ObservedGeneration: gen}
		v.evict = evict
		return v
	}
	b := target[0]
	switch {
	case b.DeletionTimestamp != nil:
		return outcome(true, "Eviction is allowed, resources propagated by placement are currently being removed from cluster targeted by eviction", nil)
	case b.Spec.State == placementv1beta1.BindingStateScheduled:
		return outcome(false, "Eviction is blocked, placement has not propagated resources to target cluster yet", nil)
	case !available(b):
		// An unavailable member gives nothing the budget protects.
		return outcome(true, "Eviction is allowed, placement on the cluster targeted by eviction is not available", b)
	case f.budget == nil:
		return outcome(true, "Eviction is allowed, no ClusterResourcePlacementDisruptionBudget specified", b)
	}
	allowed, ok := disruptionsAllowed(p, f.budget.Spec, f.bindings)
	if !ok {
		return outcome(false, "Eviction is blocked by misconfigured ClusterResourcePlacementDisruptionBudget, either MaxUnavailable is specified or MinAvailable is specified as a percentage for PickAll ClusterResourcePlacement", nil)
	}
	total, avail := counts(f.bindings)
	if allowed <= 0 {
		return outcome(false, fmt.Sprintf("Eviction is blocked by specified ClusterResourcePlacementDisruptionBudget, availablePlacements: %d, totalPlacements: %d", avail, total), nil)
	}
	return outcome(true, fmt.Sprintf("Eviction is allowed by specified ClusterResourcePlacementDisruptionBudget, availablePlacements: %d, totalPlacements: %d", avail, total), b)
}

// available says whether a binding's member is placed and reports its resources available
// for the binding's current generation.
func available(b *placementv1beta1.ClusterResourceBinding) bool {
	if b.DeletionTimestamp != nil || b.Spec.State != placementv1beta1.BindingStateBound {
		return false
	}
	c := meta.FindStatusCondition(b.Status.Conditions, string(placementv1beta1.ResourcesAvailableConditionType))
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == b.Generation
}

// counts are the placement's members (bindings that are not being removed or unscheduled)
// and how many of them are available.
func counts(bindings []placementv1beta1.ClusterResourceBinding) (total, avail int) {
	for i := range bindings {
		b := &bindings[i]
		if b.DeletionTimestamp != nil || b.Spec.State == placementv1beta1.BindingStateUnscheduled {
			continue
		}
		total++
		if available(b) {
			avail++
		}
	}
	return total, avail
}

// disruptionsAllowed is how many more members the budget lets evictions take away. ok is
// false for a budget a PickAll placement cannot use (maxUnavailable, or a percentage):
// its number of members is not fixed.
func disruptionsAllowed(p *placementv1beta1.ClusterResourcePlacement, budget placementv1beta1.PlacementDisruptionBudgetSpec,
	bindings []placementv1beta1.ClusterResourceBinding) (int, bool) {
	total, avail := counts(bindings)
	desired, fixed := 0, false
	if p.Spec.Policy != nil && p.Spec.Policy.PlacementType == placementv1beta1.PickNPlacementType && p.Spec.Policy.NumberOfClusters != nil {
		desired, fixed = int(*p.Spec.Policy.NumberOfClusters), true
	}
	isPercent := func(v *intstr.IntOrString) bool { return v.Type == intstr.String }
	switch {
	case budget.MaxUnavailable != nil:
		if !fixed {
			return 0, false
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(budget.MaxUnavailable, desired, true)
		if err != nil {
			return 0, false
		}
		return maxUnavailable - (total - avail), true
	case budget.MinAvailable != nil:
		if !fixed && isPercent(budget.MinAvailable) {
			return 0, false
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(budget.MinAvailable, desired, true)
		if err != nil {
			return 0, false
		}
		return avail - minAvailable, true
	}
	// A budget that sets neither limits nothing.
	return total, true
}
