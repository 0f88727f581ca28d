package scheduler

import (
	"fmt"
	"sync"
	"testing"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// TestConcurrentSchedulesKeepTheirOwnPropertyBounds runs many scheduling calls at once on one
// Framework, as the controller's concurrent reconciles do. Each fleet has its own range of
// property values, so a call that scored with another call's bounds gets other scores. Under
// -race, state shared between calls is also reported as a data race.
func TestConcurrentSchedulesKeepTheirOwnPropertyBounds(t *testing.T) {
	const prop1 = "kubernetes-fleet.io/node-count"
	fw := Default()
	policy := pickN(2)
	policy.Affinity = &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []placementv1beta1.PreferredClusterSelector{{Weight: 100,
			Preference: placementv1beta1.ClusterSelectorTerm{PropertySorter: &placementv1beta1.PropertySorter{
				Name: prop1, SortOrder: placementv1beta1.Descending}}}}}}

	// Fleet i has node counts base, base+2 and base+4 with base = 10*i+1: the middle member
	// scores 50 only when its own fleet's minimum and maximum are used.
	const fleets, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, fleets)
	for i := 0; i < fleets; i++ {
		base := 10*i + 1
		clusters := []clusterv1beta1.MemberCluster{
			member("low", prop(prop1, fmt.Sprint(base))),
			member("mid", prop(prop1, fmt.Sprint(base+2))),
			member("high", prop(prop1, fmt.Sprint(base+4))),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				res := fw.Schedule(policy, clusters, nil, true, now)
				got := map[string]int32{}
				for _, d := range append(res.Picked, res.NotPicked...) {
					got[d.ClusterName] = *d.ClusterScore.AffinityScore
				}
				if got["high"] != 100 || got["mid"] != 50 || got["low"] != 0 {
					errs <- fmt.Errorf("fleet with node counts %d..%d scored %v, want high=100 mid=50 low=0", base, base+4, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
