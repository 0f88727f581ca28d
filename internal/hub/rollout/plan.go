// Package rollout is the hub's rollout controller. For each ClusterResourcePlacement it
// moves bindings from Scheduled to Bound, points Bound bindings at the latest resource
// snapshot, and deletes Unscheduled ones, keeping within the rolling update's maxUnavailable
// and maxSurge. The work generator turns each change into Works; the member agents report
// back through the bindings' Available condition, which frees the budget for the next step.
package rollout

import (
	"math"
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// Defaults of the rolling update, as the CRD defaults them.
const (
	defaultMaxUnavailable           = "25%"
	defaultMaxSurge                 = "25%"
	defaultUnavailablePeriodSeconds = 60
)

// Plan is what one rollout step does.
type Plan struct {
	// Bind are Scheduled bindings to move to Bound at the latest snapshot.
	Bind []placementv1beta1.BindingObj
	// Update are Bound bindings to point at the latest snapshot (or the current apply strategy).
	Update []placementv1beta1.BindingObj
	// Delete are Unscheduled bindings to remove.
	Delete []placementv1beta1.BindingObj
	// Waiting are bindings held back by the budget, with why.
	Waiting map[string]string
	// RecheckAfter is set when an untrackable binding becomes ready by time alone.
	RecheckAfter time.Duration
}

// settings are the rolling update's numbers for a target size.
type settings struct {
	maxUnavailable, maxSurge int
	unavailablePeriod        time.Duration
}

func resolve(ru *placementv1beta1.RollingUpdateConfig, target int) settings {
	mu := intstr.FromString(defaultMaxUnavailable)
	ms := intstr.FromString(defaultMaxSurge)
	period := defaultUnavailablePeriodSeconds
	if ru != nil {
		if ru.MaxUnavailable != nil {
			mu = *ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			ms = *ru.MaxSurge
		}
		if ru.UnavailablePeriodSeconds != nil {
			period = *ru.UnavailablePeriodSeconds
		}
	}
	// maxUnavailable rounds down but is at least 1, so a rollout can always proceed;
	// maxSurge rounds up.
	u, err := intstr.GetScaledValueFromIntOrPercent(&mu, target, false)
	if err != nil || u < 1 {
		u = 1
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(&ms, target, true)
	if err != nil || s < 0 {
		s = 0
	}
	return settings{maxUnavailable: u, maxSurge: s, unavailablePeriod: time.Duration(period) * time.Second}
}

// ready says whether a binding serves its current spec: Available is True for the current
// generation, and, when its objects cannot be tracked, has been for unavailablePeriod.
// wait is how long until an untrackable one becomes ready.
func ready(b placementv1beta1.BindingObj, period time.Duration, now time.Time) (ok bool, wait time.Duration) {
	if b.GetBindingSpec().State == placementv1beta1.BindingStateScheduled || b.GetBindingSpec().ResourceSnapshotName == "" {
		return false, 0
	}
	c := meta.FindStatusCondition(b.GetBindingStatus().Conditions, string(placementv1beta1.ResourcesAvailableConditionType))
	if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != b.GetGeneration() {
		return false, 0
	}
	if c.Reason == placementv1beta1.WorkNotAvailabilityTrackableReason {
		if left := c.LastTransitionTime.Add(period).Sub(now); left > 0 {
			return false, left
		}
	}
	return true, 0
}

// Target is what every Bound binding of a placement should hold.
type Target struct {
	// Snapshot is the latest master resource snapshot.
	Snapshot string
	// Strategy is the placement's apply strategy, defaulted.
	Strategy *placementv1beta1.ApplyStrategy
	// Overrides are the override snapshots that apply, by target cluster; a cluster not
	// listed gets none.
	Overrides map[string]Overrides
}

// Overrides are the override snapshots a binding records.
type Overrides struct {
	Cluster    []string
	Namespaced []placementv1beta1.NamespacedName
}

// None says there are no overrides.
func (o Overrides) None() bool { return len(o.Cluster) == 0 && len(o.Namespaced) == 0 }

func (o Overrides) equal(b placementv1beta1.BindingObj) bool {
	return slices.Equal(o.Cluster, b.GetBindingSpec().ClusterResourceOverrideSnapshots) && slices.Equal(o.Namespaced, b.GetBindingSpec().ResourceOverrideSnapshots)
}

// upToDate says whether a Bound binding holds the latest snapshot, apply strategy and
// overrides.
func upToDate(b placementv1beta1.BindingObj, t Target) bool {
	return b.GetBindingSpec().ResourceSnapshotName == t.Snapshot && applyStrategyEqual(b.GetBindingSpec().ApplyStrategy, t.Strategy) &&
		t.Overrides[b.GetBindingSpec().TargetCluster].equal(b)
}

// MakePlan decides one rollout step. bindings are all of the placement's bindings.
func MakePlan(bindings []placementv1beta1.BindingObj, t Target,
	ru *placementv1beta1.RollingUpdateConfig, now time.Time) Plan {
	p := Plan{Waiting: map[string]string{}}
	var scheduled, boundStale, unscheduled []placementv1beta1.BindingObj
	target, holders, available := 0, 0, 0
	sorted := append([]placementv1beta1.BindingObj(nil), bindings...)
	sort.Slice(sorted, func(i, j int) bool {
		return sorted[i].GetBindingSpec().TargetCluster < sorted[j].GetBindingSpec().TargetCluster
	})

	// The target is the number of clusters the scheduler wants now.
	for _, b := range sorted {
		if b.GetDeletionTimestamp() == nil && b.GetBindingSpec().State != placementv1beta1.BindingStateUnscheduled {
			target++
		}
	}
	st := resolve(ru, target)
	recheck := time.Duration(math.MaxInt64)
	for _, b := range sorted {
		ok, wait := ready(b, st.unavailablePeriod, now)
		if wait > 0 && wait < recheck {
			recheck = wait
		}
		if b.GetDeletionTimestamp() != nil {
			holders++ // its Works are still being removed
			continue
		}
		switch b.GetBindingSpec().State {
		case placementv1beta1.BindingStateScheduled:
			scheduled = append(scheduled, b)
		case placementv1beta1.BindingStateBound:
			holders++
			if ok {
				available++
			}
			if !upToDate(b, t) {
				boundStale = append(boundStale, b)
			}
		case placementv1beta1.BindingStateUnscheduled:
			holders++
			if ok {
				available++
			}
			unscheduled = append(unscheduled, b)
		}
	}
	if recheck != time.Duration(math.MaxInt64) {
		p.RecheckAfter = recheck
	}

	// New clusters cost no availability, only surge: at most target+maxSurge clusters hold
	// the placement at once.
	for _, b := range scheduled {
		if holders < target+st.maxSurge {
			p.Bind = append(p.Bind, b)
			holders++
		} else {
			p.Waiting[b.GetName()] = "waiting for other clusters to finish, within maxSurge"
		}
	}

	// Changes to clusters that are not available anyway cost nothing; changes to available
	// ones keep at least target-maxUnavailable available.
	budget := available - (target - st.maxUnavailable)
	for _, b := range unscheduled {
		if ok, _ := ready(b, st.unavailablePeriod, now); !ok {
			p.Delete = append(p.Delete, b)
		} else if budget > 0 {
			p.Delete = append(p.Delete, b)
			budget--
		} else {
			p.Waiting[b.GetName()] = "waiting for other clusters to become available, within maxUnavailable"
		}
	}
	for _, b := range boundStale {
		if ok, _ := ready(b, st.unavailablePeriod, now); !ok {
			p.Update = append(p.Update, b)
		} else if budget > 0 {
			p.Update = append(p.Update, b)
			budget--
		} else {
			p.Waiting[b.GetName()] = "waiting for other clusters to become available, within maxUnavailable"
		}
	}
	return p
}
