package eviction

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func binding(cluster string, state placementv1beta1.BindingState, availableNow bool) placementv1beta1.ClusterResourceBinding {
	b := placementv1beta1.ClusterResourceBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + cluster, Generation: 2},
		Spec:       placementv1beta1.ResourceBindingSpec{TargetCluster: cluster, State: state},
	}
	status := metav1.ConditionFalse
	if availableNow {
		status = metav1.ConditionTrue
	}
	b.Status.Conditions = []metav1.Condition{{Type: string(placementv1beta1.ResourcesAvailableConditionType), Status: status, ObservedGeneration: 2}}
	return b
}

func placement(policy *placementv1beta1.PlacementPolicy) *placementv1beta1.ClusterResourcePlacement {
	return &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{Policy: policy}}
}

func budget(maxUnavailable, minAvailable *intstr.IntOrString) *placementv1beta1.ClusterResourcePlacementDisruptionBudget {
	return &placementv1beta1.ClusterResourcePlacementDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: placementv1beta1.PlacementDisruptionBudgetSpec{MaxUnavailable: maxUnavailable, MinAvailable: minAvailable}}
}

func TestDecide(t *testing.T) {
	pickAll := placement(nil)
	pickN3 := placement(&placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To[int32](3)})
	pickFixed := placement(&placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickFixedPlacementType, ClusterNames: []string{"m1"}})
	deleting := placement(nil)
	deleting.DeletionTimestamp = &metav1.Time{}
	three := []placementv1beta1.ClusterResourceBinding{
		binding("m1", placementv1beta1.BindingStateBound, true),
		binding("m2", placementv1beta1.BindingStateBound, true),
		binding("m3", placementv1beta1.BindingStateBound, true),
	}
	oneDown := []placementv1beta1.ClusterResourceBinding{
		binding("m1", placementv1beta1.BindingStateBound, true),
		binding("m2", placementv1beta1.BindingStateBound, true),
		binding("m3", placementv1beta1.BindingStateBound, false),
	}
	goneBinding := binding("m1", placementv1beta1.BindingStateBound, true)
	goneBinding.DeletionTimestamp = &metav1.Time{}
	for _, tc := range []struct {
		name      string
		placement *placementv1beta1.ClusterResourcePlacement
		bindings  []placementv1beta1.ClusterResourceBinding
		budget    *placementv1beta1.ClusterResourcePlacementDisruptionBudget
		valid     bool
		executed  *bool // nil: no Executed condition
		evicts    bool
		message   string
	}{
		{name: "no placement", message: "Failed to find ClusterResourcePlacement targeted by eviction"},
		{name: "deleting placement", placement: deleting, bindings: three, message: "Found deleting ClusterResourcePlacement"},
		{name: "PickFixed", placement: pickFixed, bindings: three, message: "Found ClusterResourcePlacement with PickFixed placement type"},
		{name: "member not in the placement", placement: pickAll, bindings: three[1:], message: "Failed to find scheduler decision for placement in cluster"},
		{name: "two bindings on the member", placement: pickAll, bindings: append([]placementv1beta1.ClusterResourceBinding{three[0]}, three...),
			message: "Found more than one scheduler decision"},
		{name: "no budget", placement: pickAll, bindings: three, valid: true, executed: ptr.To(true), evicts: true,
			message: "no ClusterResourcePlacementDisruptionBudget specified"},
		{name: "binding already going", placement: pickAll, bindings: []placementv1beta1.ClusterResourceBinding{goneBinding}, valid: true,
			executed: ptr.To(true), message: "currently being removed"},
		{name: "not rolled out yet", placement: pickAll, bindings: []placementv1beta1.ClusterResourceBinding{binding("m1", placementv1beta1.BindingStateScheduled, false)},
			valid: true, executed: ptr.To(false), message: "has not propagated resources to target cluster yet"},
		{name: "minAvailable 2 of 3 available", placement: pickAll, bindings: three, budget: budget(nil, ptr.To(intstr.FromInt32(2))),
			valid: true, executed: ptr.To(true), evicts: true, message: "allowed by specified ClusterResourcePlacementDisruptionBudget, availablePlacements: 3, totalPlacements: 3"},
		{name: "minAvailable 3 of 3 available", placement: pickAll, bindings: three, budget: budget(nil, ptr.To(intstr.FromInt32(3))),
			valid: true, executed: ptr.To(false), message: "blocked by specified ClusterResourcePlacementDisruptionBudget, availablePlacements: 3, totalPlacements: 3"},
		{name: "an unavailable member is not protected", placement: pickAll, bindings: []placementv1beta1.ClusterResourceBinding{
			binding("m1", placementv1beta1.BindingStateBound, false), three[1], three[2]}, budget: budget(nil, ptr.To(intstr.FromInt32(3))),
			valid: true, executed: ptr.To(true), evicts: true, message: "not available"},
		{name: "PickAll with maxUnavailable", placement: pickAll, bindings: three, budget: budget(ptr.To(intstr.FromInt32(1)), nil),
			valid: true, executed: ptr.To(false), message: "misconfigured ClusterResourcePlacementDisruptionBudget"},
		{name: "PickAll with a minAvailable percentage", placement: pickAll, bindings: three, budget: budget(nil, ptr.To(intstr.FromString("50%"))),
			valid: true, executed: ptr.To(false), message: "misconfigured"},
		{name: "PickN maxUnavailable 1, all available", placement: pickN3, bindings: three, budget: budget(ptr.To(intstr.FromInt32(1)), nil),
			valid: true, executed: ptr.To(true), evicts: true, message: "availablePlacements: 3, totalPlacements: 3"},
		{name: "PickN maxUnavailable 1, one already down", placement: pickN3, bindings: oneDown, budget: budget(ptr.To(intstr.FromInt32(1)), nil),
			valid: true, executed: ptr.To(false), message: "blocked by specified ClusterResourcePlacementDisruptionBudget, availablePlacements: 2, totalPlacements: 3"},
		{name: "PickN minAvailable 50% of 3 is 2", placement: pickN3, bindings: oneDown, budget: budget(nil, ptr.To(intstr.FromString("50%"))),
			valid: true, executed: ptr.To(false), message: "availablePlacements: 2"},
		{name: "PickN minAvailable 30% of 3 is 1", placement: pickN3, bindings: oneDown, budget: budget(nil, ptr.To(intstr.FromString("30%"))),
			valid: true, executed: ptr.To(true), evicts: true},
		{name: "maxUnavailable 0 allows nothing", placement: pickN3, bindings: three, budget: budget(ptr.To(intstr.FromInt32(0)), nil),
			valid: true, executed: ptr.To(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &placementv1beta1.ClusterResourcePlacementEviction{ObjectMeta: metav1.ObjectMeta{Name: "e", Generation: 1},
				Spec: placementv1beta1.PlacementEvictionSpec{PlacementName: "web", ClusterName: "m1"}}
			v := decide(facts{eviction: e, placement: tc.placement, bindings: tc.bindings, budget: tc.budget})
			if got := v.valid.Status == metav1.ConditionTrue; got != tc.valid {
				t.Fatalf("Valid = %s (%s); want %v", v.valid.Status, v.valid.Message, tc.valid)
			}
			message := v.valid.Message
			switch {
			case tc.executed == nil && v.executed != nil:
				t.Fatalf("Executed = %+v; want none", *v.executed)
			case tc.executed != nil && v.executed == nil:
				t.Fatalf("no Executed condition; want %v", *tc.executed)
			case tc.executed != nil:
				if got := v.executed.Status == metav1.ConditionTrue; got != *tc.executed {
					t.Fatalf("Executed = %s (%s); want %v", v.executed.Status, v.executed.Message, *tc.executed)
				}
				message = v.executed.Message
				wantReason := placementv1beta1.EvictionNotExecutedReason
				if *tc.executed {
					wantReason = placementv1beta1.EvictionExecutedReason
				}
				if v.executed.Reason != wantReason {
					t.Fatalf("Executed reason %s; want %s", v.executed.Reason, wantReason)
				}
			}
			if (v.evict != nil) != tc.evicts {
				t.Fatalf("evicts %v; want %v", v.evict != nil, tc.evicts)
			}
			if v.evict != nil && v.evict.Spec.TargetCluster != "m1" {
				t.Fatalf("evicts the binding on %s", v.evict.Spec.TargetCluster)
			}
			if !strings.Contains(message, tc.message) {
				t.Fatalf("message %q does not contain %q", message, tc.message)
			}
		})
	}
}

func TestFinished(t *testing.T) {
	e := &placementv1beta1.ClusterResourcePlacementEviction{}
	if finished(e) {
		t.Fatal("a new eviction is finished")
	}
	e.Status.Conditions = []metav1.Condition{{Type: placementv1beta1.EvictionValidConditionType, Status: metav1.ConditionTrue}}
	if finished(e) {
		t.Fatal("a valid eviction without an outcome is finished")
	}
	e.Status.Conditions = append(e.Status.Conditions, metav1.Condition{Type: placementv1beta1.EvictionExecutedConditionType, Status: metav1.ConditionFalse})
	if !finished(e) {
		t.Fatal("an eviction with Executed is not finished")
	}
	e.Status.Conditions = []metav1.Condition{{Type: placementv1beta1.EvictionValidConditionType, Status: metav1.ConditionFalse}}
	if !finished(e) {
		t.Fatal("an invalid eviction is not finished")
	}
}
