package faults

import (
	"context"
	"testing"
	"time"
)

// must fails the test at once on an error of a fault's own step.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMemberAPIServerDiesAndComesBack(t *testing.T) {
	fault{
		name:    "member-apiserver",
		inject:  func(t *testing.T) { must(t, fleet.KillChild("member-2-apiserver")) },
		hold:    20 * time.Second,
		end:     func(t *testing.T) { must(t, fleet.StartChild(context.Background(), "member-2-apiserver")) },
		dead:    "member-2",
		healthy: []string{"member-1", "member-3"},
	}.run(t)
}

// The hub's API server is away for three minutes: every heartbeat goes stale, and still no
// placement moves off a member, since the hub could not hear anyone.
func TestHubAPIServerAwayForThreeMinutes(t *testing.T) {
	fault{
		name:    "hub-apiserver",
		inject:  func(t *testing.T) { must(t, fleet.KillChild("hub-apiserver")) },
		hold:    3 * time.Minute,
		end:     func(t *testing.T) { must(t, fleet.StartChild(context.Background(), "hub-apiserver")) },
		healthy: memberNames(),
	}.run(t)
}

// etcd holds every cluster's data: all API servers lose their storage at once.
func TestEtcdDiesAndComesBack(t *testing.T) {
	fault{
		name:    "etcd",
		inject:  func(t *testing.T) { must(t, fleet.KillChild("etcd")) },
		hold:    20 * time.Second,
		end:     func(t *testing.T) { must(t, fleet.StartChild(context.Background(), "etcd")) },
		healthy: memberNames(),
	}.run(t)
}

func TestHubControllersRestart(t *testing.T) {
	fault{
		name:    "hub-restart",
		inject:  func(t *testing.T) { fleet.StopHubs() },
		hold:    10 * time.Second,
		end:     func(t *testing.T) { must(t, fleet.StartHubs(1)) },
		healthy: memberNames(),
	}.run(t)
}

// Two replicas of the hub controllers with leader election; the leader dies without giving
// up its lease, and the other takes over when the lease runs out.
func TestHubLeaderDies(t *testing.T) {
	leader := -1
	fault{
		name: "hub-leader",
		prepare: func(t *testing.T) {
			fleet.StopHubs()
			must(t, fleet.StartHubs(2))
			var err error
			leader, err = fleet.HubLeader(context.Background(), time.Minute)
			must(t, err)
			t.Logf("replica %d leads", leader)
		},
		inject: func(t *testing.T) { must(t, fleet.KillHub(leader)) },
		end: func(t *testing.T) {
			next, err := fleet.HubLeader(context.Background(), time.Minute)
			must(t, err)
			if next == leader {
				t.Fatalf("the killed replica %d still leads", leader)
			}
			t.Logf("replica %d took over", next)
		},
		cleanup: func(t *testing.T) {
			fleet.StopHubs()
			must(t, fleet.StartHubs(1))
		},
		healthy: memberNames(),
	}.run(t)
}

// member-3's hub token is revoked: its agent cannot reach the hub, while its cluster stays
// healthy and keeps everything placed. A new token in its token file lets it back in.
func TestMemberTokenRevokedAndRestored(t *testing.T) {
	fault{
		name:   "token",
		inject: func(t *testing.T) { must(t, fleet.RevokeAgentToken(context.Background(), "member-3")) },
		hold:   10 * time.Second,
		end: func(t *testing.T) {
			_, err := fleet.RenewAgentToken(context.Background(), "member-3")
			must(t, err)
		},
		healthy: memberNames(),
	}.run(t)
}
