package workgen

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func cond(typ string, status metav1.ConditionStatus, reason string, gen int64) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: reason + " message", ObservedGeneration: gen}
}

func TestAggregate(t *testing.T) {
	now := metav1.NewTime(time.Unix(1000, 0))
	drifted := placementv1beta1.ManifestCondition{
		Identifier: placementv1beta1.WorkResourceIdentifier{Ordinal: 0, Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "cm"},
		Conditions: []metav1.Condition{cond("Applied", metav1.ConditionFalse, placementv1beta1.ManifestFoundDriftsReason, 1)},
		DriftDetails: &placementv1beta1.DriftDetails{ObservationTime: now, FirstDriftedObservedTime: now, ObservedInMemberClusterGeneration: 4,
			ObservedDrifts: []placementv1beta1.PatchDetail{{Path: "/data/a", ValueInMember: "x", ValueInHub: "1"}}},
	}
	work := func(gen int64, conds []metav1.Condition, mcs ...placementv1beta1.ManifestCondition) *placementv1beta1.Work {
		w := &placementv1beta1.Work{}
		w.Name, w.Generation = "w", gen
		w.Status.Conditions, w.Status.ManifestConditions = conds, mcs
		return w
	}
	binding := func(s *placementv1beta1.ApplyStrategy) *placementv1beta1.ClusterResourceBinding {
		b := &placementv1beta1.ClusterResourceBinding{}
		b.Generation, b.Spec.TargetCluster, b.Spec.ApplyStrategy = 7, "m1", s
		return b
	}

	t.Run("a drifted manifest fails Applied and is listed", func(t *testing.T) {
		b := binding(nil)
		aggregate(b, []*placementv1beta1.Work{work(1, []metav1.Condition{cond("Applied", metav1.ConditionFalse, placementv1beta1.WorkNotAllManifestsAppliedReason, 1)}, drifted)})
		applied := meta.FindStatusCondition(b.Status.Conditions, "Applied")
		if applied == nil || applied.Status != metav1.ConditionFalse || applied.Reason != placementv1beta1.ApplyFailedReason || applied.ObservedGeneration != 7 {
			t.Fatalf("Applied = %+v", applied)
		}
		if meta.FindStatusCondition(b.Status.Conditions, "Available") != nil {
			t.Error("Available is set although not everything is applied")
		}
		if len(b.Status.FailedPlacements) != 1 || b.Status.FailedPlacements[0].Condition.Reason != placementv1beta1.ManifestFoundDriftsReason {
			t.Errorf("failed placements %+v", b.Status.FailedPlacements)
		}
		if len(b.Status.DriftedPlacements) != 1 || b.Status.DriftedPlacements[0].TargetClusterObservedGeneration != 4 ||
			b.Status.DriftedPlacements[0].ObservedDrifts[0].Path != "/data/a" || b.Status.DriftedPlacements[0].Name != "cm" {
			t.Errorf("drifted placements %+v", b.Status.DriftedPlacements)
		}
	})
	t.Run("status of an older Work generation is pending", func(t *testing.T) {
		b := binding(nil)
		aggregate(b, []*placementv1beta1.Work{work(2, []metav1.Condition{cond("Applied", metav1.ConditionTrue, placementv1beta1.WorkAllManifestsAppliedReason, 1)})})
		if c := meta.FindStatusCondition(b.Status.Conditions, "Applied"); c == nil || c.Status != metav1.ConditionUnknown || c.Reason != placementv1beta1.ApplyPendingReason {
			t.Fatalf("Applied = %+v", c)
		}
	})
	t.Run("not trackable is available with its reason", func(t *testing.T) {
		b := binding(nil)
		aggregate(b, []*placementv1beta1.Work{work(1, []metav1.Condition{
			cond("Applied", metav1.ConditionTrue, placementv1beta1.WorkAllManifestsAppliedReason, 1),
			cond("Available", metav1.ConditionTrue, placementv1beta1.WorkNotTrackableReason, 1)})})
		if c := meta.FindStatusCondition(b.Status.Conditions, "Available"); c == nil || c.Status != metav1.ConditionTrue || c.Reason != placementv1beta1.WorkNotAvailabilityTrackableReason {
			t.Fatalf("Available = %+v", c)
		}
	})
	t.Run("report diff", func(t *testing.T) {
		b := binding(&placementv1beta1.ApplyStrategy{Type: placementv1beta1.ApplyStrategyTypeReportDiff})
		diffed := placementv1beta1.ManifestCondition{
			Identifier: placementv1beta1.WorkResourceIdentifier{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "cm"},
			Conditions: []metav1.Condition{cond("DiffReported", metav1.ConditionTrue, placementv1beta1.ManifestFoundDiffReason, 1)},
			DiffDetails: &placementv1beta1.DiffDetails{ObservationTime: now, FirstDiffedObservedTime: now,
				ObservedDiffs: []placementv1beta1.PatchDetail{{Path: "/", ValueInHub: "(the whole object)"}}},
		}
		aggregate(b, []*placementv1beta1.Work{work(1, []metav1.Condition{cond("DiffReported", metav1.ConditionTrue, placementv1beta1.WorkAllManifestsDiffReportedReason, 1)}, diffed)})
		if c := meta.FindStatusCondition(b.Status.Conditions, "DiffReported"); c == nil || c.Status != metav1.ConditionTrue || c.Reason != placementv1beta1.DiffReportedStatusTrueReason {
			t.Fatalf("DiffReported = %+v", c)
		}
		if meta.FindStatusCondition(b.Status.Conditions, "Applied") != nil {
			t.Error("Applied is set under ReportDiff")
		}
		if len(b.Status.DiffedPlacements) != 1 || b.Status.DiffedPlacements[0].TargetClusterObservedGeneration != nil || len(b.Status.FailedPlacements) != 0 {
			t.Errorf("diffed %+v failed %+v", b.Status.DiffedPlacements, b.Status.FailedPlacements)
		}
	})
}
