package workgen

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// aggregate sets the binding's Applied and Available (or DiffReported) conditions and its
// failed, drifted and diffed objects from its Works' status. A Work whose status is about
// an older generation of its spec counts as pending.
func aggregate(b placementv1beta1.BindingObj, works []*placementv1beta1.Work) {
	reportDiff := b.GetBindingSpec().ApplyStrategy != nil && b.GetBindingSpec().ApplyStrategy.Type == placementv1beta1.ApplyStrategyTypeReportDiff
	b.GetBindingStatus().FailedPlacements, b.GetBindingStatus().DriftedPlacements, b.GetBindingStatus().DiffedPlacements = nil, nil, nil
	for _, w := range works {
		collect(b, w)
	}

	verdict := func(typ string) (done, failed int, first *metav1.Condition, work string) {
		for _, w := range works {
			c := meta.FindStatusCondition(w.Status.Conditions, typ)
			if c == nil || c.ObservedGeneration != w.Generation {
				continue
			}
			switch c.Status {
			case metav1.ConditionTrue:
				done++
			case metav1.ConditionFalse:
				failed++
				if first == nil {
					first, work = c, w.Name
				}
			}
		}
		return done, failed, first, work
	}
	cluster := b.GetBindingSpec().TargetCluster
	if reportDiff {
		meta.RemoveStatusCondition(&b.GetBindingStatus().Conditions, string(placementv1beta1.ResourcesAppliedConditionType))
		meta.RemoveStatusCondition(&b.GetBindingStatus().Conditions, string(placementv1beta1.ResourcesAvailableConditionType))
		done, failed, first, work := verdict(placementv1beta1.WorkConditionTypeDiffReported)
		switch {
		case failed > 0:
			setCondition(b, placementv1beta1.ResourcesDiffReportedConditionType, metav1.ConditionFalse, placementv1beta1.DiffReportedStatusFalseReason,
				fmt.Sprintf("Work %s on %s: %s", work, cluster, first.Message))
		case done == len(works):
			setCondition(b, placementv1beta1.ResourcesDiffReportedConditionType, metav1.ConditionTrue, placementv1beta1.DiffReportedStatusTrueReason,
				fmt.Sprintf("%s reported the differences of every object (%d differ)", cluster, len(b.GetBindingStatus().DiffedPlacements)))
		default:
			setCondition(b, placementv1beta1.ResourcesDiffReportedConditionType, metav1.ConditionUnknown, placementv1beta1.DiffReportedStatusUnknownReason,
				fmt.Sprintf("waiting for the member agent of %s to report", cluster))
		}
		return
	}

	meta.RemoveStatusCondition(&b.GetBindingStatus().Conditions, string(placementv1beta1.ResourcesDiffReportedConditionType))
	done, failed, first, work := verdict(placementv1beta1.WorkConditionTypeApplied)
	switch {
	case failed > 0:
		reason := placementv1beta1.ApplyFailedReason
		for _, f := range b.GetBindingStatus().FailedPlacements {
			if f.Condition.Reason == placementv1beta1.ApplyConflictBetweenPlacementsReason {
				reason = placementv1beta1.ApplyConflictBetweenPlacementsReason
			}
		}
		setCondition(b, placementv1beta1.ResourcesAppliedConditionType, metav1.ConditionFalse, reason,
			fmt.Sprintf("Work %s on %s: %s", work, cluster, first.Message))
	case done == len(works):
		setCondition(b, placementv1beta1.ResourcesAppliedConditionType, metav1.ConditionTrue, placementv1beta1.ApplySucceededReason,
			fmt.Sprintf("every object is applied on %s", cluster))
	default:
		setCondition(b, placementv1beta1.ResourcesAppliedConditionType, metav1.ConditionUnknown, placementv1beta1.ApplyPendingReason,
			fmt.Sprintf("waiting for the member agent of %s to apply the latest Works", cluster))
	}
	if done != len(works) {
		meta.RemoveStatusCondition(&b.GetBindingStatus().Conditions, string(placementv1beta1.ResourcesAvailableConditionType))
		return
	}
	done, failed, first, work = verdict(placementv1beta1.WorkConditionTypeAvailable)
	switch {
	case failed > 0:
		setCondition(b, placementv1beta1.ResourcesAvailableConditionType, metav1.ConditionFalse, placementv1beta1.NotAvailableYetReason,
			fmt.Sprintf("Work %s on %s: %s", work, cluster, first.Message))
	case done == len(works):
		reason, msg := placementv1beta1.AvailableReason, fmt.Sprintf("every object is available on %s", cluster)
		for _, w := range works {
			if c := meta.FindStatusCondition(w.Status.Conditions, placementv1beta1.WorkConditionTypeAvailable); c.Reason == placementv1beta1.WorkNotTrackableReason {
				reason = placementv1beta1.WorkNotAvailabilityTrackableReason
				msg = fmt.Sprintf("some objects on %s cannot be tracked for availability; the others are available", cluster)
			}
		}
		setCondition(b, placementv1beta1.ResourcesAvailableConditionType, metav1.ConditionTrue, reason, msg)
	default:
		msg := fmt.Sprintf("waiting for the member agent of %s to report availability", cluster)
		for _, w := range works {
			if c := meta.FindStatusCondition(w.Status.Conditions, placementv1beta1.WorkConditionTypeAvailable); c != nil &&
				c.Reason == placementv1beta1.WorkMemberUnreachableReason {
				msg = fmt.Sprintf("Work %s on %s: %s", w.Name, cluster, c.Message)
				break
			}
		}
		setCondition(b, placementv1beta1.ResourcesAvailableConditionType, metav1.ConditionUnknown, placementv1beta1.AvailableUnknownReason, msg)
	}
}

// collect copies a Work's failed, drifted and diffed manifests into the binding, up to the
// cap of each list.
func collect(b placementv1beta1.BindingObj, w *placementv1beta1.Work) {
	var envelope *placementv1beta1.EnvelopeIdentifier
	if t := w.Labels[placementv1beta1.EnvelopeTypeLabel]; t != "" {
		envelope = &placementv1beta1.EnvelopeIdentifier{Type: placementv1beta1.EnvelopeType(t),
			Name: w.Labels[placementv1beta1.EnvelopeNameLabel], Namespace: w.Labels[placementv1beta1.EnvelopeNamespaceLabel]}
	}
	for _, mc := range w.Status.ManifestConditions {
		id := placementv1beta1.ResourceIdentifier{Group: mc.Identifier.Group, Version: mc.Identifier.Version,
			Kind: mc.Identifier.Kind, Name: mc.Identifier.Name, Namespace: mc.Identifier.Namespace, Envelope: envelope}
		if len(b.GetBindingStatus().FailedPlacements) < placementv1beta1.MaxReportedPlacements {
			for _, typ := range []string{placementv1beta1.WorkConditionTypeApplied, placementv1beta1.WorkConditionTypeAvailable, placementv1beta1.WorkConditionTypeDiffReported} {
				if c := meta.FindStatusCondition(mc.Conditions, typ); c != nil && c.Status == metav1.ConditionFalse {
					b.GetBindingStatus().FailedPlacements = append(b.GetBindingStatus().FailedPlacements, placementv1beta1.FailedResourcePlacement{ResourceIdentifier: id, Condition: *c})
					break
				}
			}
		}
		if d := mc.DriftDetails; d != nil && len(b.GetBindingStatus().DriftedPlacements) < placementv1beta1.MaxReportedPlacements {
			b.GetBindingStatus().DriftedPlacements = append(b.GetBindingStatus().DriftedPlacements, placementv1beta1.DriftedResourcePlacement{
				ResourceIdentifier: id, ObservationTime: d.ObservationTime, FirstDriftedObservedTime: d.FirstDriftedObservedTime,
				TargetClusterObservedGeneration: d.ObservedInMemberClusterGeneration, ObservedDrifts: d.ObservedDrifts})
		}
		if d := mc.DiffDetails; d != nil && len(b.GetBindingStatus().DiffedPlacements) < placementv1beta1.MaxReportedPlacements {
			b.GetBindingStatus().DiffedPlacements = append(b.GetBindingStatus().DiffedPlacements, placementv1beta1.DiffedResourcePlacement{
				ResourceIdentifier: id, ObservationTime: d.ObservationTime, FirstDiffedObservedTime: d.FirstDiffedObservedTime,
				TargetClusterObservedGeneration: d.ObservedInMemberClusterGeneration, ObservedDiffs: d.ObservedDiffs})
		}
	}
}
