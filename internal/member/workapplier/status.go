package workapplier

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// newStatus builds a Work's status from the results, one per manifest in order. It starts
// from the previous status so that condition transition times and the first-observed times
// of drifts and diffs survive, and an unchanged outcome gives an identical status (no write).
func newStatus(work *placementv1beta1.Work, results []result, reportDiff bool, now metav1.Time) placementv1beta1.WorkStatus {
	prev := map[placementv1beta1.WorkResourceIdentifier]placementv1beta1.ManifestCondition{}
	for _, mc := range work.Status.ManifestConditions {
		prev[mc.Identifier] = mc
	}
	gen := work.Generation
	out := placementv1beta1.WorkStatus{Conditions: append([]metav1.Condition(nil), work.Status.Conditions...)}
	var applied, available, notTrackable, diffReported int
	var firstFailure, firstUnavailable string
	for _, r := range results {
		mc := prev[r.id]
		mc.Identifier = r.id
		mc.Conditions = append([]metav1.Condition(nil), mc.Conditions...)
		status := metav1.ConditionFalse
		if r.applied {
			status = metav1.ConditionTrue
		}
		if reportDiff {
			meta.RemoveStatusCondition(&mc.Conditions, placementv1beta1.WorkConditionTypeApplied)
			meta.RemoveStatusCondition(&mc.Conditions, placementv1beta1.WorkConditionTypeAvailable)
			meta.SetStatusCondition(&mc.Conditions, metav1.Condition{Type: placementv1beta1.WorkConditionTypeDiffReported,
				Status: status, Reason: r.reason, Message: r.message, ObservedGeneration: gen})
			if r.applied {
				diffReported++
			} else if firstFailure == "" {
				firstFailure = r.message
			}
		} else {
			meta.RemoveStatusCondition(&mc.Conditions, placementv1beta1.WorkConditionTypeDiffReported)
			meta.SetStatusCondition(&mc.Conditions, metav1.Condition{Type: placementv1beta1.WorkConditionTypeApplied,
				Status: status, Reason: r.reason, Message: r.message, ObservedGeneration: gen})
			if r.applied {
				applied++
			} else if firstFailure == "" {
				firstFailure = r.message
			}
			if r.avail != nil {
				as := metav1.ConditionFalse
				if r.avail.available {
					as = metav1.ConditionTrue
					available++
					if r.avail.reason == placementv1beta1.ManifestNotTrackableReason {
						notTrackable++
					}
				} else if firstUnavailable == "" {
					firstUnavailable = r.avail.message
				}
				meta.SetStatusCondition(&mc.Conditions, metav1.Condition{Type: placementv1beta1.WorkConditionTypeAvailable,
					Status: as, Reason: r.avail.reason, Message: r.avail.message, ObservedGeneration: gen})
			} else {
				// Not applied: whether the object is available says nothing about the manifest.
				meta.RemoveStatusCondition(&mc.Conditions, placementv1beta1.WorkConditionTypeAvailable)
			}
		}
		mc.BackReportedStatus = backReported(work.Spec.ReportBackStrategy, mc.BackReportedStatus, r, now)
		mc.DriftDetails = driftDetails(mc.DriftDetails, r, now)
		mc.DiffDetails = diffDetails(mc.DiffDetails, r, now)
		out.ManifestConditions = append(out.ManifestConditions, mc)
	}

	n := len(results)
	set := func(typ string, ok bool, okReason, okMsg, badReason, badMsg string) {
		c := metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: okReason, Message: okMsg, ObservedGeneration: gen}
		if !ok {
			c.Status, c.Reason, c.Message = metav1.ConditionFalse, badReason, badMsg
		}
		meta.SetStatusCondition(&out.Conditions, c)
	}
	if reportDiff {
		meta.RemoveStatusCondition(&out.Conditions, placementv1beta1.WorkConditionTypeApplied)
		meta.RemoveStatusCondition(&out.Conditions, placementv1beta1.WorkConditionTypeAvailable)
		set(placementv1beta1.WorkConditionTypeDiffReported, diffReported == n,
			placementv1beta1.WorkAllManifestsDiffReportedReason, "the diff of every manifest is reported",
			placementv1beta1.WorkNotAllManifestsDiffReportedReason,
			fmt.Sprintf("%d of %d manifests have reported their diff; %s", diffReported, n, firstFailure))
		return out
	}
	meta.RemoveStatusCondition(&out.Conditions, placementv1beta1.WorkConditionTypeDiffReported)
	set(placementv1beta1.WorkConditionTypeApplied, applied == n,
		placementv1beta1.WorkAllManifestsAppliedReason, "all the manifests are applied",
		placementv1beta1.WorkNotAllManifestsAppliedReason,
		fmt.Sprintf("%d of %d manifests are applied; %s", applied, n, firstFailure))
	if applied != n {
		meta.RemoveStatusCondition(&out.Conditions, placementv1beta1.WorkConditionTypeAvailable)
		return out
	}
	okReason, okMsg := placementv1beta1.WorkAllManifestsAvailableReason, "all the applied objects are available"
	if notTrackable > 0 {
		okReason = placementv1beta1.WorkNotTrackableReason
		okMsg = fmt.Sprintf("%d of %d applied objects cannot be tracked for availability; the others are available", notTrackable, n)
	}
	set(placementv1beta1.WorkConditionTypeAvailable, available == n, okReason, okMsg,
		placementv1beta1.WorkNotAllManifestsAvailableReason,
		fmt.Sprintf("%d of %d applied objects are available; %s", available, n, firstUnavailable))
	return out
}

func driftDetails(prev *placementv1beta1.DriftDetails, r result, now metav1.Time) *placementv1beta1.DriftDetails {
	if len(r.drifts) == 0 {
		return nil
	}
	gen := int64(0)
	if r.generation != nil {
		gen = *r.generation
	}
	if prev != nil && equality.Semantic.DeepEqual(prev.ObservedDrifts, r.drifts) && prev.ObservedInMemberClusterGeneration == gen {
		return prev
	}
	d := &placementv1beta1.DriftDetails{ObservationTime: now, FirstDriftedObservedTime: now,
		ObservedInMemberClusterGeneration: gen, ObservedDrifts: r.drifts}
	if prev != nil {
		d.FirstDriftedObservedTime = prev.FirstDriftedObservedTime
	}
	return d
}

func diffDetails(prev *placementv1beta1.DiffDetails, r result, now metav1.Time) *placementv1beta1.DiffDetails {
	if len(r.diffs) == 0 {
		return nil
	}
	if prev != nil && equality.Semantic.DeepEqual(prev.ObservedDiffs, r.diffs) &&
		equality.Semantic.DeepEqual(prev.ObservedInMemberClusterGeneration, r.generation) {
		return prev
	}
	d := &placementv1beta1.DiffDetails{ObservationTime: now, FirstDiffedObservedTime: now,
		ObservedInMemberClusterGeneration: r.generation, ObservedDiffs: r.diffs}
	if prev != nil {
		d.FirstDiffedObservedTime = prev.FirstDiffedObservedTime
	}
	return d
}

// unreachableStatus is the Work's status while its member's API server does not answer: its
// Available condition, when it has one, becomes Unknown with the reason and message given.
// It reports whether anything changed.
func unreachableStatus(st placementv1beta1.WorkStatus, gen int64, msg string, now metav1.Time) (placementv1beta1.WorkStatus, bool) {
	c := meta.FindStatusCondition(st.Conditions, placementv1beta1.WorkConditionTypeAvailable)
	if c == nil || (c.Status == metav1.ConditionUnknown && c.Reason == placementv1beta1.WorkMemberUnreachableReason) {
		return st, false
	}
	out := *st.DeepCopy()
	meta.SetStatusCondition(&out.Conditions, metav1.Condition{Type: placementv1beta1.WorkConditionTypeAvailable,
		Status: metav1.ConditionUnknown, Reason: placementv1beta1.WorkMemberUnreachableReason, Message: msg,
		ObservedGeneration: gen, LastTransitionTime: now})
	return out, true
}

// backReported is a manifest's back-reported status under reportBackStrategy Mirror; an
// unchanged status keeps its observation time, so that it causes no write.
func backReported(s *placementv1beta1.ReportBackStrategy, prev *placementv1beta1.BackReportedStatus, r result, now metav1.Time) *placementv1beta1.BackReportedStatus {
	if s == nil || s.Type != placementv1beta1.ReportBackMirror || r.observed == nil {
		return nil
	}
	if prev != nil && sameJSON(prev.ObservedStatus.Raw, r.observed) {
		return prev
	}
	return &placementv1beta1.BackReportedStatus{ObservedStatus: runtime.RawExtension{Raw: r.observed}, ObservationTime: now}
}

// sameJSON compares two JSON documents by value: the API server may write the stored copy
// with other spacing or key order.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return equality.Semantic.DeepEqual(va, vb)
}
