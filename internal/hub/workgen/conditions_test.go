package workgen

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// The rollout waits unavailablePeriodSeconds from Available's lastTransitionTime for objects
// it cannot track; a new generation must restart that clock even when Available stays True.
func TestAvailableRestartsItsClockForANewGeneration(t *testing.T) {
	hourAgo := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	available := string(placementv1beta1.ResourcesAvailableConditionType)
	applied := string(placementv1beta1.ResourcesAppliedConditionType)
	b := &placementv1beta1.ClusterResourceBinding{}
	b.Generation = 1
	b.Status.Conditions = []metav1.Condition{
		{Type: available, Status: metav1.ConditionTrue, Reason: placementv1beta1.WorkNotAvailabilityTrackableReason, ObservedGeneration: 1, LastTransitionTime: hourAgo},
		{Type: applied, Status: metav1.ConditionTrue, Reason: "ApplySucceeded", ObservedGeneration: 1, LastTransitionTime: hourAgo},
	}

	// The same generation keeps its time.
	setCondition(b, placementv1beta1.ResourcesAvailableConditionType, metav1.ConditionTrue, placementv1beta1.WorkNotAvailabilityTrackableReason, "")
	if got := meta.FindStatusCondition(b.Status.Conditions, available).LastTransitionTime; !got.Equal(&hourAgo) {
		t.Fatalf("same generation: lastTransitionTime %v, want it kept at %v", got, hourAgo)
	}

	// A new generation restarts Available's clock, and only Available's.
	b.Generation = 2
	setCondition(b, placementv1beta1.ResourcesAvailableConditionType, metav1.ConditionTrue, placementv1beta1.WorkNotAvailabilityTrackableReason, "")
	setCondition(b, placementv1beta1.ResourcesAppliedConditionType, metav1.ConditionTrue, "ApplySucceeded", "")
	if got := meta.FindStatusCondition(b.Status.Conditions, available).LastTransitionTime; time.Since(got.Time) > time.Minute {
		t.Fatalf("new generation: Available's lastTransitionTime %v, want now", got)
	}
	if got := meta.FindStatusCondition(b.Status.Conditions, applied).LastTransitionTime; !got.Equal(&hourAgo) {
		t.Fatalf("new generation: Applied's lastTransitionTime %v, want it kept", got)
	}
}
