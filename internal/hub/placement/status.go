package placement

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// stage is one condition of the chain that a placement goes through on each member, with
// the CRP-level type and the reasons used when aggregating.
type stage struct {
	member   placementv1beta1.ResourceConditionType
	crp      placementv1beta1.PlacementConditionType
	okReason string
	pending  string
}

var (
	rolloutStarted = stage{placementv1beta1.ResourceRolloutStartedConditionType, placementv1beta1.CRPRolloutStartedConditionType,
		placementv1beta1.RolloutStartedReason, placementv1beta1.RolloutStartedUnknownReason}
	overridden = stage{placementv1beta1.ResourceOverriddenConditionType, placementv1beta1.CRPOverriddenConditionType,
		placementv1beta1.OverrideNotSpecifiedReason, placementv1beta1.OverriddenPendingReason}
	workSynchronized = stage{placementv1beta1.ResourceWorkSynchronizedConditionType, placementv1beta1.CRPWorkSynchronizedConditionType,
		placementv1beta1.WorkSynchronizedReason, placementv1beta1.WorkSynchronizedUnknownReason}
	applied = stage{placementv1beta1.ResourcesAppliedConditionType, placementv1beta1.CRPAppliedConditionType,
		placementv1beta1.ApplySucceededReason, placementv1beta1.ApplyPendingReason}
	available = stage{placementv1beta1.ResourcesAvailableConditionType, placementv1beta1.CRPAvailableConditionType,
		placementv1beta1.AvailableReason, placementv1beta1.AvailableUnknownReason}
	diffReported = stage{placementv1beta1.ResourcesDiffReportedConditionType, placementv1beta1.CRPDiffReportedConditionType,
		placementv1beta1.DiffReportedStatusTrueReason, placementv1beta1.DiffReportedStatusUnknownReason}
)

// stages lists the chain after Scheduled: ReportDiff reports diffs instead of applying.
// Under the External strategy, a rollout not started yet waits for an external controller
// (a staged update run), and says so with KubeFleet's reason.
func stages(crp placementv1beta1.PlacementObj) []stage {
	started := rolloutStarted
	if crp.GetPlacementSpec().Strategy.Type == placementv1beta1.ExternalRolloutStrategyType {
		started.pending = placementv1beta1.RolloutControlledByExternalControllerReason
	}
	if as := crp.GetPlacementSpec().Strategy.ApplyStrategy; as != nil && as.Type == placementv1beta1.ApplyStrategyTypeReportDiff {
		return []stage{started, overridden, workSynchronized, diffReported}
	}
	return []stage{started, overridden, workSynchronized, applied, available}
}

// PlacementConditionType is the name of a placement-level condition in the placement's
// scope: a ResourcePlacement's conditions are named ResourcePlacement... where a
// ClusterResourcePlacement's are ClusterResourcePlacement..., as in KubeFleet.
func PlacementConditionType(p placementv1beta1.PlacementObj, clusterType string) string {
	if p.GetNamespace() != "" {
		return strings.Replace(clusterType, "ClusterResourcePlacement", "ResourcePlacement", 1)
	}
	return clusterType
}

// statusInput is what the status is computed from.
type statusInput struct {
	crp         placementv1beta1.PlacementObj
	selection   *Selection
	invalid     string // the invalid-selector message, if any
	policySnap  placementv1beta1.PolicySnapshotObj
	resourceIdx string
	bindings    []placementv1beta1.BindingObj
}

// buildStatus computes the placement's status. It keeps the transition times of
// conditions that did not change.
func buildStatus(in statusInput) placementv1beta1.PlacementStatus {
	crp := in.crp
	gen := crp.GetGeneration()
	old := *crp.GetPlacementStatus()
	st := placementv1beta1.PlacementStatus{ObservedResourceIndex: in.resourceIdx}
	if in.selection != nil {
		st.SelectedResources = in.selection.Identifiers()
	} else {
		st.SelectedResources = old.SelectedResources
	}
	var conds []metav1.Condition
	set := func(c metav1.Condition) {
		c.Type = PlacementConditionType(crp, c.Type)
		c.ObservedGeneration = gen
		if prev := meta.FindStatusCondition(old.Conditions, c.Type); prev != nil && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		} else {
			c.LastTransitionTime = metav1.Now()
		}
		conds = append(conds, c)
	}
	scheduled := metav1.Condition{Type: string(placementv1beta1.CRPScheduledConditionType)}
	var snapCond *metav1.Condition
	if in.policySnap != nil {
		snapCond = meta.FindStatusCondition(in.policySnap.GetPolicySnapshotStatus().Conditions, placementv1beta1.PolicySnapshotScheduledConditionType)
	}
	switch {
	case in.invalid != "":
		scheduled.Status, scheduled.Reason, scheduled.Message = metav1.ConditionFalse, placementv1beta1.InvalidResourceSelectorsReason, in.invalid
	case snapCond == nil || snapCond.ObservedGeneration != in.policySnap.GetGeneration() || in.policySnap.GetPolicySnapshotStatus().ObservedCRPGeneration < gen:
		scheduled.Status, scheduled.Reason, scheduled.Message = metav1.ConditionUnknown, placementv1beta1.SchedulePendingReason, "the scheduler has not yet picked clusters for the current policy"
	default:
		scheduled.Status, scheduled.Reason, scheduled.Message = snapCond.Status, snapCond.Reason, snapCond.Message
	}
	set(scheduled)
	if scheduled.Status == metav1.ConditionUnknown || in.invalid != "" {
		st.Conditions = conds
		st.PlacementStatuses = nil
		return st
	}

	// Per-member statuses, from the active bindings.
	var active []placementv1beta1.BindingObj
	for _, b := range in.bindings {
		if b.GetDeletionTimestamp() == nil && b.GetBindingSpec().State != placementv1beta1.BindingStateUnscheduled {
			active = append(active, b)
		}
	}
	sort.Slice(active, func(i, j int) bool {
		return active[i].GetBindingSpec().TargetCluster < active[j].GetBindingSpec().TargetCluster
	})
	chain := stages(crp)
	oldPerCluster := map[string][]metav1.Condition{}
	for _, ps := range old.PlacementStatuses {
		if ps.ClusterName != "" {
			oldPerCluster[ps.ClusterName] = ps.Conditions
		}
	}
	for _, b := range active {
		ps := placementv1beta1.ResourcePlacementStatus{ClusterName: b.GetBindingSpec().TargetCluster}
		if b.GetBindingSpec().ResourceSnapshotName != "" {
			ps.ObservedResourceIndex = indexOfSnapshotName(crp.GetName(), b.GetBindingSpec().ResourceSnapshotName)
		}
		ps.ApplicableClusterResourceOverrides = b.GetBindingSpec().ClusterResourceOverrideSnapshots
		ps.ApplicableResourceOverrides = b.GetBindingSpec().ResourceOverrideSnapshots
		prev := oldPerCluster[b.GetBindingSpec().TargetCluster]
		keep := func(c metav1.Condition) metav1.Condition {
			c.ObservedGeneration = gen
			if p := meta.FindStatusCondition(prev, c.Type); p != nil && p.Status == c.Status && p.Reason == c.Reason {
				c.LastTransitionTime = p.LastTransitionTime
			} else if c.LastTransitionTime.IsZero() {
				c.LastTransitionTime = metav1.Now()
			}
			return c
		}
		ps.Conditions = append(ps.Conditions, keep(metav1.Condition{Type: string(placementv1beta1.ResourceScheduledConditionType),
			Status: metav1.ConditionTrue, Reason: placementv1beta1.ResourceScheduleSucceededReason, Message: b.GetBindingSpec().ClusterDecision.Reason}))
		for _, s := range chain {
			c := memberCondition(b, s)
			ps.Conditions = append(ps.Conditions, keep(c))
			if c.Status != metav1.ConditionTrue {
				break
			}
		}
		// Copies: the bindings are the cache's own objects.
		bs := b.GetBindingStatus().DeepCopy()
		ps.FailedPlacements = capped(bs.FailedPlacements)
		ps.DriftedPlacements = cappedDrift(bs.DriftedPlacements)
		ps.DiffedPlacements = cappedDiff(bs.DiffedPlacements)
		st.PlacementStatuses = append(st.PlacementStatuses, ps)
	}
	// Members a PickN or PickFixed policy could not find.
	unscheduledSince := func(cluster string) metav1.Time {
		for _, ps := range old.PlacementStatuses {
			if ps.ClusterName == cluster && len(ps.Conditions) > 0 && ps.Conditions[0].Status == metav1.ConditionFalse {
				return ps.Conditions[0].LastTransitionTime
			}
		}
		return metav1.Now()
	}
	if in.policySnap != nil && scheduled.Status == metav1.ConditionFalse {
		policy := in.policySnap.GetPolicySnapshotSpec().Policy
		if policy != nil && policy.PlacementType == placementv1beta1.PickFixedPlacementType {
			for _, d := range in.policySnap.GetPolicySnapshotStatus().ClusterDecisions {
				if !d.Selected {
					st.PlacementStatuses = append(st.PlacementStatuses, unscheduledStatus(d.ClusterName, d.Reason, gen, unscheduledSince(d.ClusterName)))
				}
			}
		} else if policy != nil && policy.PlacementType == placementv1beta1.PickNPlacementType && crp.GetPlacementSpec().Policy != nil && crp.GetPlacementSpec().Policy.NumberOfClusters != nil {
			for i := len(active); i < int(*crp.GetPlacementSpec().Policy.NumberOfClusters); i++ {
				st.PlacementStatuses = append(st.PlacementStatuses, unscheduledStatus("", scheduled.Message, gen, unscheduledSince("")))
			}
		}
	}

	// The placement's conditions aggregate the members', stopping at the first not True.
	for _, s := range chain {
		c := aggregate(s, st.PlacementStatuses, len(active))
		set(c)
		if c.Status != metav1.ConditionTrue {
			break
		}
	}
	st.Conditions = conds
	return st
}

func unscheduledStatus(cluster, why string, gen int64, since metav1.Time) placementv1beta1.ResourcePlacementStatus {
	return placementv1beta1.ResourcePlacementStatus{ClusterName: cluster, Conditions: []metav1.Condition{{
		Type: string(placementv1beta1.ResourceScheduledConditionType), Status: metav1.ConditionFalse,
		Reason: placementv1beta1.ResourceScheduleFailedReason, Message: why, ObservedGeneration: gen,
		LastTransitionTime: since,
	}}}
}

// memberCondition is the binding's condition for a stage, if it reflects the binding's
// current spec; otherwise Unknown with the stage's pending reason.
func memberCondition(b placementv1beta1.BindingObj, s stage) metav1.Condition {
	c := meta.FindStatusCondition(b.GetBindingStatus().Conditions, string(s.member))
	if c == nil || c.ObservedGeneration != b.GetGeneration() {
		return metav1.Condition{Type: string(s.member), Status: metav1.ConditionUnknown, Reason: s.pending,
			Message: fmt.Sprintf("waiting for %s to be reported for the binding's current generation", s.member)}
	}
	return *c.DeepCopy()
}

// aggregate sums up one stage over the members: False if any is False, Unknown if any is
// not reported yet, else True.
func aggregate(s stage, statuses []placementv1beta1.ResourcePlacementStatus, members int) metav1.Condition {
	c := metav1.Condition{Type: string(s.crp)}
	var falses, unknowns []string
	var falseReason string
	trueReasons := map[string]int{}
	for _, ps := range statuses {
		if ps.ClusterName == "" && len(ps.Conditions) == 1 {
			continue
		}
		if cond := meta.FindStatusCondition(ps.Conditions, string(placementv1beta1.ResourceScheduledConditionType)); cond != nil && cond.Status != metav1.ConditionTrue {
			continue
		}
		mc := meta.FindStatusCondition(ps.Conditions, string(s.member))
		switch {
		case mc == nil || mc.Status == metav1.ConditionUnknown:
			unknowns = append(unknowns, ps.ClusterName)
		case mc.Status == metav1.ConditionFalse:
			if falseReason == "" {
				falseReason = mc.Reason
			}
			falses = append(falses, ps.ClusterName)
		default:
			trueReasons[mc.Reason]++
		}
	}
	switch {
	case len(falses) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, falseReason
		c.Message = fmt.Sprintf("%d of %d cluster(s) report %s False: %s", len(falses), members, s.member, listNames(falses))
	case len(unknowns) > 0:
		c.Status, c.Reason = metav1.ConditionUnknown, s.pending
		c.Message = fmt.Sprintf("%d of %d cluster(s) have not reported %s yet: %s", len(unknowns), members, s.member, listNames(unknowns))
	default:
		c.Status, c.Reason = metav1.ConditionTrue, s.okReason
		// One reason shared by every member (for example NoOverrideSpecified) is kept.
		if s.member == placementv1beta1.ResourceOverriddenConditionType && trueReasons[placementv1beta1.OverriddenSucceededReason] > 0 {
			// Some cluster got overrides: the placement is overridden.
			c.Reason = placementv1beta1.OverriddenSucceededReason
		} else if len(trueReasons) == 1 {
			for r := range trueReasons {
				if s.member != placementv1beta1.ResourceOverriddenConditionType || r == placementv1beta1.OverrideNotSpecifiedReason || r == placementv1beta1.OverriddenSucceededReason {
					c.Reason = r
				}
			}
		}
		if members == 0 {
			c.Message = "no member cluster is picked, so there is nothing to do"
		} else {
			c.Message = fmt.Sprintf("all %d cluster(s) report %s True", members, s.member)
		}
	}
	return c
}

func listNames(ns []string) string {
	const show = 5
	if len(ns) <= show {
		return fmt.Sprint(ns)
	}
	return fmt.Sprintf("%v and %d more", ns[:show], len(ns)-show)
}

func capped(in []placementv1beta1.FailedResourcePlacement) []placementv1beta1.FailedResourcePlacement {
	if len(in) > placementv1beta1.MaxReportedPlacements {
		in = in[:placementv1beta1.MaxReportedPlacements]
	}
	return in
}

func cappedDrift(in []placementv1beta1.DriftedResourcePlacement) []placementv1beta1.DriftedResourcePlacement {
	if len(in) > placementv1beta1.MaxReportedPlacements {
		in = in[:placementv1beta1.MaxReportedPlacements]
	}
	return in
}

func cappedDiff(in []placementv1beta1.DiffedResourcePlacement) []placementv1beta1.DiffedResourcePlacement {
	if len(in) > placementv1beta1.MaxReportedPlacements {
		in = in[:placementv1beta1.MaxReportedPlacements]
	}
	return in
}
