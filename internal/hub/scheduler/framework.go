// Package scheduler picks the member clusters of each ClusterResourcePlacement. The picking
// is a small plugin framework, pure and without I/O: filter plugins drop the clusters a policy
// rules out, score plugins rank the rest, and the placement type decides how many to take.
// The controller in this package feeds it the latest policy snapshot, the MemberClusters and
// the existing bindings, then writes bindings and the decisions.
package scheduler

import (
	"sort"
	"time"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// State is what the plugins know about one scheduling run.
type State struct {
	// Policy is the policy being scheduled; never nil (a missing policy is PickAll).
	Policy *placementv1beta1.PlacementPolicy
	// Placed holds the clusters that already hold an active (Scheduled or Bound) binding of
	// the placement. Taints added later do not evict them.
	Placed map[string]bool
	// Now is the time eligibility is judged at.
	Now time.Time
}

// FilterPlugin rules clusters out. A plugin that rules a cluster out says why, in words fit
// for a status message.
type FilterPlugin interface {
	Name() string
	Filter(s *State, mc *clusterv1beta1.MemberCluster) (ok bool, reason string)
}

// ScorePlugin ranks the clusters that passed the filters. PreScore sees all of them first,
// so that a plugin can scale by the spread of values (property sorters need the minimum and
// maximum), and returns the scorer for this one run. Whatever PreScore learns lives in that
// scorer, never in the plugin: one Framework serves the controller's concurrent reconciles,
// and a plugin that kept state would let one run score with another run's values.
type ScorePlugin interface {
	Name() string
	PreScore(s *State, clusters []*clusterv1beta1.MemberCluster) ClusterScorer
}

// ClusterScorer scores one cluster within the run its PreScore saw.
type ClusterScorer func(mc *clusterv1beta1.MemberCluster) int32

// Framework runs a list of filter and score plugins. It holds no state of its own between
// runs, so one Framework may run Schedule from many goroutines at once.
type Framework struct {
	Filters []FilterPlugin
	Scores  []ScorePlugin
}

// Default is the framework with every built-in plugin.
func Default() *Framework {
	return &Framework{
		Filters: []FilterPlugin{eligibilityFilter{}, requiredAffinity{}, taintToleration{}, topologyKeyPresent{}},
		Scores:  []ScorePlugin{preferredAffinity{}},
	}
}

// Candidate is a cluster that passed every filter, with its affinity score.
type Candidate struct {
	Cluster       *clusterv1beta1.MemberCluster
	AffinityScore int32
}

// Rejection is a cluster that a filter ruled out, or a name PickFixed could not find.
type Rejection struct {
	ClusterName string
	Reason      string
}

// Result is the outcome of one scheduling run.
type Result struct {
	// Picked are the chosen clusters, best first, with their scores.
	Picked []placementv1beta1.ClusterDecision
	// NotPicked are clusters left out, with why.
	NotPicked []placementv1beta1.ClusterDecision
	// Wanted is how many clusters the policy asks for; -1 for PickAll (as many as fit).
	Wanted int
}

// Fulfilled says whether the policy got every cluster it asked for.
func (r *Result) Fulfilled() bool { return r.Wanted < 0 || len(r.Picked) >= r.Wanted }

// filter runs the filters over all clusters and returns those that pass, by name, and the
// rejections.
func (f *Framework) filter(s *State, clusters []*clusterv1beta1.MemberCluster) ([]*clusterv1beta1.MemberCluster, []Rejection) {
	var passed []*clusterv1beta1.MemberCluster
	var rejected []Rejection
	for _, mc := range clusters {
		ok, reason := true, ""
		for _, p := range f.Filters {
			if ok, reason = p.Filter(s, mc); !ok {
				break
			}
		}
		if ok {
			passed = append(passed, mc)
		} else {
			rejected = append(rejected, Rejection{ClusterName: mc.Name, Reason: reason})
		}
	}
	return passed, rejected
}

// score runs the score plugins over the clusters that passed.
func (f *Framework) score(s *State, clusters []*clusterv1beta1.MemberCluster) []Candidate {
	scorers := make([]ClusterScorer, 0, len(f.Scores))
	for _, p := range f.Scores {
		scorers = append(scorers, p.PreScore(s, clusters))
	}
	out := make([]Candidate, 0, len(clusters))
	for _, mc := range clusters {
		var total int32
		for _, score := range scorers {
			total += score(mc)
		}
		out = append(out, Candidate{Cluster: mc, AffinityScore: total})
	}
	return out
}

// Schedule decides which clusters the policy picks. clusters are all MemberClusters;
// placed are the clusters that already hold an active binding of the placement; keepPlaced
// says that the policy is the one those bindings were made for, so that PickN keeps them
// rather than moving to better-scoring clusters (preferences are IgnoredDuringExecution).
func (f *Framework) Schedule(policy *placementv1beta1.PlacementPolicy, clusters []clusterv1beta1.MemberCluster,
	placed map[string]bool, keepPlaced bool, now time.Time) Result {
	if policy == nil {
		policy = &placementv1beta1.PlacementPolicy{}
	}
	s := &State{Policy: policy, Placed: placed, Now: now}
	ptrs := make([]*clusterv1beta1.MemberCluster, len(clusters))
	for i := range clusters {
		ptrs[i] = &clusters[i]
	}
	sort.Slice(ptrs, func(i, j int) bool { return ptrs[i].Name < ptrs[j].Name })

	switch policy.PlacementType {
	case placementv1beta1.PickFixedPlacementType:
		return f.pickFixed(s, ptrs)
	case placementv1beta1.PickNPlacementType:
		return f.pickN(s, ptrs, keepPlaced)
	default:
		return f.pickAll(s, ptrs)
	}
}

func (f *Framework) pickAll(s *State, clusters []*clusterv1beta1.MemberCluster) Result {
	passed, rejected := f.filter(s, clusters)
	res := Result{Wanted: -1}
	for _, c := range f.score(s, passed) {
		res.Picked = append(res.Picked, decision(c, nil, true, "picked by the PickAll policy: the cluster passed every filter"))
	}
	res.NotPicked = rejections(rejected)
	return res
}

func (f *Framework) pickFixed(s *State, clusters []*clusterv1beta1.MemberCluster) Result {
	byName := make(map[string]*clusterv1beta1.MemberCluster, len(clusters))
	for _, mc := range clusters {
		byName[mc.Name] = mc
	}
	res := Result{Wanted: len(s.Policy.ClusterNames)}
	// PickFixed names its clusters, so only eligibility applies: affinity and taints do not.
	elig := eligibilityFilter{}
	for _, name := range s.Policy.ClusterNames {
		mc, ok := byName[name]
		if !ok {
			res.NotPicked = append(res.NotPicked, placementv1beta1.ClusterDecision{ClusterName: name,
				Reason: "no member cluster named " + name + " exists in the fleet; check spec.policy.clusterNames"})
			continue
		}
		if ok, why := elig.Filter(s, mc); !ok && !s.Placed[name] {
			res.NotPicked = append(res.NotPicked, placementv1beta1.ClusterDecision{ClusterName: name,
				Reason: "member cluster " + name + " is not eligible: " + why})
			continue
		} else if !ok && leaving(mc) {
			res.NotPicked = append(res.NotPicked, placementv1beta1.ClusterDecision{ClusterName: name,
				Reason: "member cluster " + name + " is leaving the fleet"})
			continue
		}
		res.Picked = append(res.Picked, placementv1beta1.ClusterDecision{ClusterName: name, Selected: true,
			Reason: "picked by the PickFixed policy: the cluster is named in spec.policy.clusterNames"})
	}
	return res
}

func (f *Framework) pickN(s *State, clusters []*clusterv1beta1.MemberCluster, keepPlaced bool) Result {
	want := 0
	if s.Policy.NumberOfClusters != nil {
		want = int(*s.Policy.NumberOfClusters)
	}
	res := Result{Wanted: want}
	passed, rejected := f.filter(s, clusters)
	cands := f.score(s, passed)
	spread := newSpread(s.Policy.TopologySpreadConstraints, passed)

	var chosen []Candidate
	taken := map[string]bool{}
	if keepPlaced {
		// Clusters that already hold the placement stay first, best-scoring first, so that
		// scaling down drops the worst and scaling up only adds.
		var kept []Candidate
		for _, c := range cands {
			if s.Placed[c.Cluster.Name] {
				kept = append(kept, c)
			}
		}
		sortCandidates(kept, spread)
		for _, c := range kept {
			if len(chosen) == want {
				break
			}
			chosen = append(chosen, c)
			taken[c.Cluster.Name] = true
			spread.add(c.Cluster)
		}
	}
	// Fill up one at a time: the spread scores change with every pick.
	for len(chosen) < want {
		best := -1
		for i := range cands {
			c := &cands[i]
			if taken[c.Cluster.Name] || !spread.allows(c.Cluster) {
				continue
			}
			if best < 0 || better(*c, cands[best], spread) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		chosen = append(chosen, cands[best])
		taken[cands[best].Cluster.Name] = true
		spread.add(cands[best].Cluster)
	}
	for _, c := range chosen {
		ts := spread.score(c.Cluster)
		res.Picked = append(res.Picked, decision(c, &ts, true, "picked by the PickN policy: among the best-scoring clusters that passed every filter"))
	}
	for _, c := range cands {
		if taken[c.Cluster.Name] {
			continue
		}
		reason := "not picked: other clusters scored higher and the policy wants " + itoa(want)
		if !spread.allows(c.Cluster) {
			reason = "not picked: placing here would break a topology spread constraint (whenUnsatisfiable DoNotSchedule)"
		}
		ts := spread.score(c.Cluster)
		res.NotPicked = append(res.NotPicked, decision(c, &ts, false, reason))
	}
	res.NotPicked = append(res.NotPicked, rejections(rejected)...)
	return res
}

// better orders candidates: the topology spread score first (fewer picks in the cluster's
// domains), then the affinity score, then the name, so that ties are broken the same way
// every time.
func better(a, b Candidate, sp *spread) bool {
	ta, tb := sp.score(a.Cluster), sp.score(b.Cluster)
	if ta != tb {
		return ta > tb
	}
	if a.AffinityScore != b.AffinityScore {
		return a.AffinityScore > b.AffinityScore
	}
	return a.Cluster.Name < b.Cluster.Name
}

func sortCandidates(cs []Candidate, sp *spread) {
	sort.SliceStable(cs, func(i, j int) bool { return better(cs[i], cs[j], sp) })
}

func decision(c Candidate, topology *int32, selected bool, reason string) placementv1beta1.ClusterDecision {
	aff := c.AffinityScore
	score := &placementv1beta1.ClusterScore{AffinityScore: &aff}
	if topology != nil {
		t := *topology
		score.TopologySpreadScore = &t
	}
	return placementv1beta1.ClusterDecision{ClusterName: c.Cluster.Name, Selected: selected,
		ClusterScore: score, Reason: reason}
}

func rejections(rs []Rejection) []placementv1beta1.ClusterDecision {
	out := make([]placementv1beta1.ClusterDecision, 0, len(rs))
	for _, r := range rs {
		out = append(out, placementv1beta1.ClusterDecision{ClusterName: r.ClusterName, Reason: r.Reason})
	}
	return out
}

func leaving(mc *clusterv1beta1.MemberCluster) bool { return mc.DeletionTimestamp != nil }
