package scheduler

import (
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

// spread tracks, while PickN picks one cluster after another, how many picks each topology
// domain holds. Domains are the values of a constraint's topology key among the clusters
// that passed the filters.
type spread struct {
	constraints []placementv1beta1.TopologySpreadConstraint
	// counts[i][value] is the number of picks in domain value of constraint i.
	counts []map[string]int
}

func newSpread(cs []placementv1beta1.TopologySpreadConstraint, candidates []*clusterv1beta1.MemberCluster) *spread {
	sp := &spread{constraints: cs, counts: make([]map[string]int, len(cs))}
	for i, c := range cs {
		sp.counts[i] = map[string]int{}
		for _, mc := range candidates {
			if v, ok := mc.Labels[c.TopologyKey]; ok {
				sp.counts[i][v] = 0
			}
		}
	}
	return sp
}

func maxSkew(c placementv1beta1.TopologySpreadConstraint) int {
	if c.MaxSkew == nil || *c.MaxSkew < 1 {
		return 1
	}
	return int(*c.MaxSkew)
}

// allows says whether picking mc keeps every DoNotSchedule constraint within its maxSkew:
// the picks in mc's domain, plus one, less the fewest picks of any domain.
func (sp *spread) allows(mc *clusterv1beta1.MemberCluster) bool {
	for i, c := range sp.constraints {
		if whenUnsatisfiable(c) != placementv1beta1.DoNotSchedule {
			continue
		}
		v, ok := mc.Labels[c.TopologyKey]
		if !ok {
			return false
		}
		after := sp.counts[i][v] + 1
		least := after
		for dom, n := range sp.counts[i] {
			if dom != v && n < least {
				least = n
			}
		}
		if after-least > maxSkew(c) {
			return false
		}
	}
	return true
}

func (sp *spread) add(mc *clusterv1beta1.MemberCluster) {
	for i, c := range sp.constraints {
		if v, ok := mc.Labels[c.TopologyKey]; ok {
			sp.counts[i][v]++
		}
	}
}

// score is higher for clusters in domains with fewer picks: minus the picks in the cluster's
// domain of each constraint. Clusters without the key (ScheduleAnyway) score as the fullest
// domain, so they come after clusters that help the spread.
func (sp *spread) score(mc *clusterv1beta1.MemberCluster) int32 {
	var s int32
	for i, c := range sp.constraints {
		v, ok := mc.Labels[c.TopologyKey]
		if !ok {
			most := 0
			for _, n := range sp.counts[i] {
				most = max(most, n)
			}
			s -= int32(most)
			continue
		}
		s -= int32(sp.counts[i][v])
	}
	return s
}
