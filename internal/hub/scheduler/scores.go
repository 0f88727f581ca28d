package scheduler

import (
	"math"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// preferredAffinity adds up the weights of the preferred terms a member matches. A term with
// a property sorter earns a share of its weight that grows linearly from the worst to the
// best value among the candidates (Descending: the largest is best); a member that lacks the
// property earns nothing from it.
type preferredAffinity struct {
	// bounds holds the minimum and maximum of each sorted property, from PreScore.
	bounds map[string][2]float64
}

func (*preferredAffinity) Name() string { return "ClusterAffinity" }

func (p *preferredAffinity) terms(s *State) []placementv1beta1.PreferredClusterSelector {
	if s.Policy.Affinity == nil || s.Policy.Affinity.ClusterAffinity == nil {
		return nil
	}
	return s.Policy.Affinity.ClusterAffinity.PreferredDuringSchedulingIgnoredDuringExecution
}

func (p *preferredAffinity) PreScore(s *State, clusters []*clusterv1beta1.MemberCluster) {
	p.bounds = map[string][2]float64{}
	for _, t := range p.terms(s) {
		if t.Preference.PropertySorter == nil {
			continue
		}
		name := t.Preference.PropertySorter.Name
		if _, done := p.bounds[name]; done {
			continue
		}
		lo, hi, any := math.Inf(1), math.Inf(-1), false
		for _, mc := range clusters {
			if v, ok := propertyNumber(mc, name); ok {
				lo, hi, any = math.Min(lo, v), math.Max(hi, v), true
			}
		}
		if any {
			p.bounds[name] = [2]float64{lo, hi}
		}
	}
}

func (p *preferredAffinity) Score(s *State, mc *clusterv1beta1.MemberCluster) int32 {
	var total int32
	for _, t := range p.terms(s) {
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
		b, known := p.bounds[term.PropertySorter.Name]
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
