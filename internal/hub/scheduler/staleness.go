package scheduler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
)

// StaleClustersKeptReason is the Scheduled condition's reason while so many members look
// stale at once that the scheduler keeps placements on them instead of moving them away.
const StaleClustersKeptReason = "StaleClustersKept"

// withJudgement returns a framework whose eligibility filter judges heartbeats by j, for
// one scheduling run. The framework itself is shared and stays as it is.
func (f *Framework) withJudgement(j eligibility.Judgement) *Framework {
	out := &Framework{Filters: make([]FilterPlugin, len(f.Filters)), Scores: f.Scores}
	for i, p := range f.Filters {
		if _, ok := p.(eligibilityFilter); ok {
			p = eligibilityFilter{judgement: j}
		}
		out.Filters[i] = p
	}
	return out
}

// heldStale returns, sorted, the members that hold the placement and that the scheduler
// keeps only because the judgement holds: without the hold they would lose it to
// staleness.
func heldStale(j eligibility.Judgement, members []clusterv1beta1.MemberCluster, placed map[string]bool, now time.Time) []string {
	if !j.Hold {
		return nil
	}
	var held []string
	for i := range members {
		mc := &members[i]
		if !placed[mc.Name] {
			continue
		}
		if ok, _, staleOnly := eligibility.EligibleHearing(mc, now, j.Hearing); !ok && staleOnly {
			held = append(held, mc.Name)
		}
	}
	sort.Strings(held)
	return held
}

// heldMessage says why the placement was not moved, naming how many members look stale.
func heldMessage(j eligibility.Judgement, held []string) string {
	share := j.Hearing.MaxStaleShare
	if share <= 0 {
		share = eligibility.DefaultMaxStaleShare
	}
	return fmt.Sprintf("%d of %d joined member clusters look stale at once (more than %.0f%%), as they do when the hub itself "+
		"was out, so the placement is not moved for staleness: %s keep(s) it until heartbeats come back or fewer members look stale",
		j.Stale, j.Joined, share*100, strings.Join(held, ", "))
}
