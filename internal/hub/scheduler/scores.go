package scheduler

import (
	"math"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// preferredAffinity adds up the weights of the preferred terms a member matches. A term with
// a property sorter earns a share of its weight that grows linearly from the worst to the
// best value among the candidates (Descending: the largest is best); a member that lacks the
// property earns nothing from it. The plugin itself is stateless; the bounds of one run live
// in the scorer PreScore returns.
type preferredAffinity struct{}

func (preferredAffinity) Name() string { return "ClusterAffinity" }

func (preferredAffinity) terms(s *State) []placementv1beta1.PreferredClusterSelector {
	if s.Policy.Affinity == nil || s.Policy.Affinity.ClusterAffinity == nil {
		return nil
	}
	return s.Policy.Affinity.ClusterAffinity.PreferredDuringSchedulingIgnoredDuringExecution
}

func (p preferredAffinity) PreScore(s *State, clusters []*clusterv1beta1.MemberCluster) ClusterScorer {
	terms := p.terms(s)
	// bounds holds the minimum and maximum of each sorted property among this run's clusters.
	bounds := map[string][2]float64{}
	for _, t := range terms {
		if t.Preference.PropertySorter == nil {
			continue
		}
		name := t.Preference.PropertySorter.Name
		if _, done := bounds[name]; done {
			continue
		}
		lo, hi, found := math.Inf(1), math.Inf(-1), false
		for _, mc := range clusters {
			if v, ok := propertyNumber(mc, name); ok {
				lo, hi, found = math.Min(lo, v), math.Max(hi, v), true
			}
		}
		if found {
			bounds[name] = [2]float64{lo, hi}
		}
	}
	return func(mc *clusterv1beta1.MemberCluster) int32 { return affinityScore(terms, bounds, mc) }
}

// affinityScore is the sum of the weights mc earns from the preferred terms, with property
// sorters scaled by bounds.
func affinityScore(terms []placementv1beta1.PreferredClusterSelector, bounds map[string][2]float64,
	mc *clusterv1beta1.MemberCluster) int32 {
	var total int32
	for _, t := range terms {
		term := t.Preference
		if t.Preference.LabelSelector != nil {
			labelsOnly := placementv1beta1.ClusterSelectorTerm{LabelSelector: term.LabelSelector}
			if ok, _ := termMatches(&labelsOnly, mc); !ok {
				continue
			}
		}
		if term.PropertySorter == nil {
			total += t.Weight
			continue
		}
		v, ok := propertyNumber(mc, term.PropertySorter.Name)
		b, known := bounds[term.PropertySorter.Name]
		if !ok || !known {
			continue
		}
		share := 1.0
		if b[1] > b[0] {
			share = (v - b[0]) / (b[1] - b[0])
			if term.PropertySorter.SortOrder == placementv1beta1.Ascending {
				share = 1 - share
			}
		}
		total += int32(math.Round(float64(t.Weight) * share))
	}
	return total
}
