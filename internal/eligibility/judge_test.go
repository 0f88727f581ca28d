package eligibility

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

func memberWithHeartbeat(name string, last time.Time) clusterv1beta1.MemberCluster {
	mc := eligibleMember(last.Add(time.Minute))
	mc.Name = name
	return *mc
}

func TestEligibleHearingGrace(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		last      time.Time
		hearing   Hearing
		eligible  bool
		staleOnly bool
	}{
		{name: "fresh heartbeat", last: now.Add(-time.Minute), eligible: true},
		{name: "stale, hub always heard", last: now.Add(-10 * time.Minute), eligible: false, staleOnly: true},
		{name: "stale, but the hub came back 2m ago", last: now.Add(-10 * time.Minute),
			hearing: Hearing{Since: now.Add(-2 * time.Minute)}, eligible: true},
		{name: "stale, the hub came back 6m ago (default grace 5m passed)", last: now.Add(-10 * time.Minute),
			hearing: Hearing{Since: now.Add(-6 * time.Minute)}, eligible: false, staleOnly: true},
		{name: "stale, a longer grace set", last: now.Add(-10 * time.Minute),
			hearing: Hearing{Since: now.Add(-6 * time.Minute), Grace: 7 * time.Minute}, eligible: true},
		{name: "stale, a shorter grace set", last: now.Add(-10 * time.Minute),
			hearing: Hearing{Since: now.Add(-2 * time.Minute), Grace: time.Minute}, eligible: false, staleOnly: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mc := memberWithHeartbeat("m", c.last)
			ok, why, staleOnly := EligibleHearing(&mc, now, c.hearing)
			if ok != c.eligible || staleOnly != c.staleOnly {
				t.Fatalf("EligibleHearing = %v, %q, staleOnly %v; want %v, staleOnly %v", ok, why, staleOnly, c.eligible, c.staleOnly)
			}
		})
	}
	// Being deleted is never "stale only", even with an old heartbeat.
	mc := memberWithHeartbeat("m", now.Add(-time.Hour))
	mc.DeletionTimestamp = &metav1.Time{Time: now}
	if _, _, staleOnly := EligibleHearing(&mc, now, Hearing{}); staleOnly {
		t.Fatal("a member being deleted is ineligible for more than staleness")
	}
}

func TestJudge(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	fresh, stale := now.Add(-time.Minute), now.Add(-10*time.Minute)
	fleet := func(lasts ...time.Time) []clusterv1beta1.MemberCluster {
		var out []clusterv1beta1.MemberCluster
		for i, l := range lasts {
			out = append(out, memberWithHeartbeat(string(rune('a'+i)), l))
		}
		return out
	}
	notJoined := memberWithHeartbeat("x", stale)
	notJoined.Status.AgentStatus[0].Conditions[0].Status = metav1.ConditionFalse
	cases := []struct {
		name          string
		members       []clusterv1beta1.MemberCluster
		hearing       Hearing
		joined, stale int
		hold          bool
	}{
		{name: "all fresh", members: fleet(fresh, fresh, fresh), joined: 3},
		{name: "one of three stale moves", members: fleet(stale, fresh, fresh), joined: 3, stale: 1},
		{name: "one of two stale (50%, not more than 55%) moves", members: fleet(stale, fresh), joined: 2, stale: 1},
		{name: "two of three stale holds", members: fleet(stale, stale, fresh), joined: 3, stale: 2, hold: true},
		{name: "all stale holds", members: fleet(stale, stale), joined: 2, stale: 2, hold: true},
		{name: "a single stale member holds", members: fleet(stale), joined: 1, stale: 1, hold: true},
		{name: "a share of 1 never holds", members: fleet(stale, stale), hearing: Hearing{MaxStaleShare: 1}, joined: 2, stale: 2},
		{name: "a lower share holds sooner", members: fleet(stale, fresh, fresh), hearing: Hearing{MaxStaleShare: 0.3}, joined: 3, stale: 1, hold: true},
		{name: "within the grace nobody is stale", members: fleet(stale, stale), hearing: Hearing{Since: now.Add(-time.Minute)}, joined: 2},
		{name: "members not joined do not count", members: append(fleet(stale, fresh, fresh), notJoined), joined: 3, stale: 1},
		{name: "no members", joined: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := Judge(c.members, now, c.hearing)
			if j.Joined != c.joined || j.Stale != c.stale || j.Hold != c.hold {
				t.Fatalf("Judge = joined %d, stale %d, hold %v; want %d, %d, %v", j.Joined, j.Stale, j.Hold, c.joined, c.stale, c.hold)
			}
		})
	}
}
