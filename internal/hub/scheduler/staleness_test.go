package scheduler

import (
	"strings"
	"testing"
	"time"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
)

// TestPickNStaleness is the pure half of the hub-outage regression: when every member
// looks stale at once, as after the hub's own outage, PickN keeps its clusters; when only
// one of several is stale, it moves away from that one.
func TestPickNStaleness(t *testing.T) {
	cases := []struct {
		name     string
		clusters []clusterv1beta1.MemberCluster
		placed   map[string]bool
		hearing  eligibility.Hearing
		want     []string
		held     []string
	}{
		{name: "all stale: the placement stays",
			clusters: []clusterv1beta1.MemberCluster{member("a", staleHeartbeat), member("b", staleHeartbeat), member("c", staleHeartbeat)},
			placed:   map[string]bool{"a": true}, want: []string{"a"}, held: []string{"a"}},
		{name: "two of three stale: the placement stays",
			clusters: []clusterv1beta1.MemberCluster{member("a", staleHeartbeat), member("b", staleHeartbeat), member("c")},
			placed:   map[string]bool{"a": true}, want: []string{"a"}, held: []string{"a"}},
		{name: "one of three stale: the placement moves",
			clusters: []clusterv1beta1.MemberCluster{member("a", staleHeartbeat), member("b"), member("c")},
			placed:   map[string]bool{"a": true}, want: []string{"b"}},
		{name: "all stale, but the share is set to 1: the placement goes",
			clusters: []clusterv1beta1.MemberCluster{member("a", staleHeartbeat), member("b", staleHeartbeat)},
			placed:   map[string]bool{"a": true}, hearing: eligibility.Hearing{MaxStaleShare: 1}, want: nil},
		{name: "all stale, not yet placed: a hold places nothing new",
			clusters: []clusterv1beta1.MemberCluster{member("a", staleHeartbeat), member("b", staleHeartbeat)},
			want:     nil},
		{name: "all stale but the hub came back within the grace: nobody is stale",
			clusters: []clusterv1beta1.MemberCluster{member("a", staleHeartbeat), member("b", staleHeartbeat)},
			placed:   map[string]bool{"a": true}, hearing: eligibility.Hearing{Since: now.Add(-time.Minute)}, want: []string{"a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := eligibility.Judge(c.clusters, now, c.hearing)
			res := Default().withJudgement(j).Schedule(pickN(1), c.clusters, c.placed, true, now)
			equal(t, names(res.Picked), c.want)
			equal(t, heldStale(j, c.clusters, c.placed, now), c.held)
		})
	}
}

func TestHeldMessageNamesTheCount(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{member("a", staleHeartbeat), member("b", staleHeartbeat), member("c")}
	j := eligibility.Judge(clusters, now, eligibility.Hearing{})
	msg := heldMessage(j, heldStale(j, clusters, map[string]bool{"a": true}, now))
	for _, want := range []string{"2 of 3 joined member clusters look stale", "more than 55%", "a keep(s) it"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

// The shared Default framework is not changed by a run's judgement.
func TestWithJudgementLeavesTheSharedFrameworkAlone(t *testing.T) {
	f := Default()
	_ = f.withJudgement(eligibility.Judgement{Hold: true})
	if e, ok := f.Filters[0].(eligibilityFilter); !ok || e.judgement.Hold {
		t.Fatalf("the shared framework's eligibility filter changed: %+v", f.Filters[0])
	}
}
