package workapplier

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// TestStatusIsStable: the same outcome twice gives the same status (so the applier writes
// nothing on a resync), and the first-observed time of a drift survives while its details
// change.
func TestStatusIsStable(t *testing.T) {
	t0, t1 := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(2000, 0))
	id := placementv1beta1.WorkResourceIdentifier{Ordinal: 0, Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: "n", Name: "c"}
	drift := func(v string) result {
		return result{id: id, reason: placementv1beta1.ManifestFoundDriftsReason, message: "drifted",
			drifts: []placementv1beta1.PatchDetail{{Path: "/data/a", ValueInMember: v, ValueInHub: "1"}}, generation: new(int64)}
	}
	work := &placementv1beta1.Work{}
	work.Generation = 3

	first := newStatus(work, []result{drift("x")}, false, t0)
	work.Status = first
	again := newStatus(work, []result{drift("x")}, false, t1)
	if !equality.Semantic.DeepEqual(first, again) {
		t.Fatalf("the same outcome changed the status:\n%+v\n%+v", first, again)
	}
	work.Status = again
	changed := newStatus(work, []result{drift("y")}, false, t1)
	d := changed.ManifestConditions[0].DriftDetails
	if !d.FirstDriftedObservedTime.Equal(&t0) || !d.ObservationTime.Equal(&t1) || d.ObservedDrifts[0].ValueInMember != "y" {
		t.Fatalf("drift details %+v", d)
	}
	applied := meta.FindStatusCondition(changed.Conditions, placementv1beta1.WorkConditionTypeApplied)
	if applied.Status != metav1.ConditionFalse || applied.ObservedGeneration != 3 || !applied.LastTransitionTime.Equal(&first.Conditions[0].LastTransitionTime) {
		t.Fatalf("Applied %+v", applied)
	}
	if meta.FindStatusCondition(changed.Conditions, placementv1beta1.WorkConditionTypeAvailable) != nil {
		t.Fatal("Available is set although a manifest is not applied")
	}

	fixed := newStatus(work, []result{{id: id, applied: true, reason: placementv1beta1.ManifestAppliedReason,
		avail: &availability{available: true, reason: placementv1beta1.ManifestAvailableReason}}}, false, t1)
	if fixed.ManifestConditions[0].DriftDetails != nil {
		t.Fatal("drift details kept after the drift went")
	}
	if !meta.IsStatusConditionTrue(fixed.Conditions, placementv1beta1.WorkConditionTypeAvailable) {
		t.Fatalf("conditions %+v", fixed.Conditions)
	}
}

func TestUnreachableStatus(t *testing.T) {
	now := metav1.NewTime(time.Unix(3000, 0))
	cond := func(status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: placementv1beta1.WorkConditionTypeAvailable, Status: status, Reason: reason, ObservedGeneration: 2}
	}
	applied := metav1.Condition{Type: placementv1beta1.WorkConditionTypeApplied, Status: metav1.ConditionTrue, Reason: "AllManifestsApplied", ObservedGeneration: 2}
	cases := []struct {
		name        string
		conditions  []metav1.Condition
		wantChanged bool
	}{
		{"available becomes unknown", []metav1.Condition{applied, cond(metav1.ConditionTrue, placementv1beta1.WorkAllManifestsAvailableReason)}, true},
		{"not available becomes unknown too", []metav1.Condition{applied, cond(metav1.ConditionFalse, placementv1beta1.WorkNotAllManifestsAvailableReason)}, true},
		{"already marked: no write", []metav1.Condition{applied, cond(metav1.ConditionUnknown, placementv1beta1.WorkMemberUnreachableReason)}, false},
		{"never reported availability: nothing to take back", []metav1.Condition{applied}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := placementv1beta1.WorkStatus{Conditions: tc.conditions}
			out, changed := unreachableStatus(st, 2, "member-1 is not ready", now)
			if changed != tc.wantChanged {
				t.Fatalf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if !changed {
				if !equality.Semantic.DeepEqual(out, st) {
					t.Fatalf("unchanged status differs: %+v", out)
				}
				return
			}
			c := meta.FindStatusCondition(out.Conditions, placementv1beta1.WorkConditionTypeAvailable)
			if c.Status != metav1.ConditionUnknown || c.Reason != placementv1beta1.WorkMemberUnreachableReason || c.Message != "member-1 is not ready" {
				t.Fatalf("Available = %+v", c)
			}
			if a := meta.FindStatusCondition(out.Conditions, placementv1beta1.WorkConditionTypeApplied); a.Status != metav1.ConditionTrue {
				t.Fatalf("Applied changed: %+v", a)
			}
			if st.Conditions[1].Status == metav1.ConditionUnknown {
				t.Fatal("the input status was changed in place")
			}
		})
	}
}
