package scheduler

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
)

// eligibility drops members that may not receive placements (eligibility.EligibleHearing).
// A member that already holds a PickAll or PickFixed placement keeps it while it is merely
// unhealthy or silent, so that a network blip does not remove workloads; it loses it when
// it leaves. PickN moves the placement to another member instead, unless the judgement
// holds: when too many members look stale at once, the silence is most likely the hub's
// own, and no member loses a placement for staleness.
type eligibilityFilter struct {
	judgement eligibility.Judgement
}

func (eligibilityFilter) Name() string { return "ClusterEligibility" }

func (e eligibilityFilter) Filter(s *State, mc *clusterv1beta1.MemberCluster) (bool, string) {
	ok, why, staleOnly := eligibility.EligibleHearing(mc, s.Now, e.judgement.Hearing)
	if ok {
		return true, ""
	}
	if s.Placed[mc.Name] && !leaving(mc) && s.Policy.PlacementType != placementv1beta1.PickNPlacementType {
		return true, ""
	}
	if s.Placed[mc.Name] && staleOnly && e.judgement.Hold {
		return true, ""
	}
	return false, "the cluster is not eligible: " + why
}

// requiredAffinity keeps the members that match at least one required term. It is checked
// again for members that hold the placement, so relabeling a member moves the placement.
type requiredAffinity struct{}

func (requiredAffinity) Name() string { return "ClusterAffinity" }

func (requiredAffinity) Filter(s *State, mc *clusterv1beta1.MemberCluster) (bool, string) {
	aff := s.Policy.Affinity
	if aff == nil || aff.ClusterAffinity == nil || aff.ClusterAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true, ""
	}
	terms := aff.ClusterAffinity.RequiredDuringSchedulingIgnoredDuringExecution.ClusterSelectorTerms
	var whys []string
	for i := range terms {
		ok, why := termMatches(&terms[i], mc)
		if ok {
			return true, ""
		}
		whys = append(whys, why)
	}
	return false, "the cluster matches no required cluster selector term: " + strings.Join(whys, "; ")
}

// termMatches says whether a member matches a term's label and property selectors (ANDed);
// if not, why.
func termMatches(t *placementv1beta1.ClusterSelectorTerm, mc *clusterv1beta1.MemberCluster) (bool, string) {
	if t.LabelSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
		if err != nil {
			return false, fmt.Sprintf("invalid labelSelector: %v", err)
		}
		if !sel.Matches(labels.Set(mc.Labels)) {
			return false, fmt.Sprintf("labels do not match %s", sel.String())
		}
	}
	if t.PropertySelector != nil {
		for _, req := range t.PropertySelector.MatchExpressions {
			if ok, why := propertyMatches(req, mc); !ok {
				return false, why
			}
		}
	}
	return true, ""
}

// taintToleration drops members with a NoSchedule taint the policy does not tolerate. It
// does not apply to members that already hold the placement: a taint added later does not
// evict.
type taintToleration struct{}

func (taintToleration) Name() string { return "TaintToleration" }

func (taintToleration) Filter(s *State, mc *clusterv1beta1.MemberCluster) (bool, string) {
	if s.Placed[mc.Name] {
		return true, ""
	}
	for _, taint := range mc.Spec.Taints {
		if !tolerated(taint, s.Policy.Tolerations) {
			return false, fmt.Sprintf("the cluster has the taint %s=%s:%s, which the policy does not tolerate", taint.Key, taint.Value, taint.Effect)
		}
	}
	return true, ""
}

func tolerated(taint clusterv1beta1.Taint, tolerations []placementv1beta1.Toleration) bool {
	for _, t := range tolerations {
		if t.Effect != "" && t.Effect != taint.Effect {
			continue
		}
		switch t.Operator {
		case corev1.TolerationOpExists:
			if t.Key == "" || t.Key == taint.Key {
				return true
			}
		default: // Equal
			if t.Key == taint.Key && t.Value == taint.Value {
				return true
			}
		}
	}
	return false
}

// topologyKeyPresent drops, for PickN, members that lack the topology key of a
// DoNotSchedule spread constraint: they belong to no domain, so the skew cannot be kept.
type topologyKeyPresent struct{}

func (topologyKeyPresent) Name() string { return "TopologySpread" }

func (topologyKeyPresent) Filter(s *State, mc *clusterv1beta1.MemberCluster) (bool, string) {
	if s.Policy.PlacementType != placementv1beta1.PickNPlacementType {
		return true, ""
	}
	for _, c := range s.Policy.TopologySpreadConstraints {
		if whenUnsatisfiable(c) != placementv1beta1.DoNotSchedule {
			continue
		}
		if _, ok := mc.Labels[c.TopologyKey]; !ok {
			return false, fmt.Sprintf("the cluster lacks the label %s of a topology spread constraint with whenUnsatisfiable DoNotSchedule", c.TopologyKey)
		}
	}
	return true, ""
}

func whenUnsatisfiable(c placementv1beta1.TopologySpreadConstraint) placementv1beta1.UnsatisfiableConstraintAction {
	if c.WhenUnsatisfiable == "" {
		return placementv1beta1.DoNotSchedule
	}
	return c.WhenUnsatisfiable
}

// TermMatches says whether a member matches a cluster selector term's label and property
// selectors, for the other hub packages that select members the way placement policies do
// (overrides).
func TermMatches(t *placementv1beta1.ClusterSelectorTerm, mc *clusterv1beta1.MemberCluster) bool {
	ok, _ := termMatches(t, mc)
	return ok
}
