package faults

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemberAPIServerDiesAndComesBack(t *testing.T) {
	fault{
		name:    "member-apiserver",
		inject:  func() error { return fleet.KillChild("member-2-apiserver") },
		hold:    20 * time.Second,
		end:     func() error { return fleet.StartChild(context.Background(), "member-2-apiserver") },
		dead:    "member-2",
		healthy: []string{"member-1", "member-3"},
	}.run(t)
}

// The hub's API server is away for three minutes: every heartbeat goes stale, and still no
// placement moves off a member, since the hub could not hear anyone.
func TestHubAPIServerAwayForThreeMinutes(t *testing.T) {
	fault{
		name:    "hub-apiserver",
		inject:  func() error { return fleet.KillChild("hub-apiserver") },
		hold:    3 * time.Minute,
		end:     func() error { return fleet.StartChild(context.Background(), "hub-apiserver") },
		healthy: memberNames(),
	}.run(t)
}

// etcd holds every cluster's data: all API servers lose their storage at once.
func TestEtcdDiesAndComesBack(t *testing.T) {
	fault{
		name:    "etcd",
		inject:  func() error { return fleet.KillChild("etcd") },
		hold:    20 * time.Second,
		end:     func() error { return fleet.StartChild(context.Background(), "etcd") },
		healthy: memberNames(),
	}.run(t)
}

func TestHubControllersRestart(t *testing.T) {
	fault{
		name:    "hub-restart",
		inject:  func() error { fleet.StopHubs(); return nil },
		hold:    10 * time.Second,
		end:     func() error { return fleet.StartHubs(1) },
		healthy: memberNames(),
	}.run(t)
}

// Two replicas of the hub controllers with leader election; the leader dies without giving
// up its lease, and the other takes over when the lease runs out.
func TestHubLeaderDies(t *testing.T) {
	leader := -1
	fault{
		name: "hub-leader",
		prepare: func() error {
			fleet.StopHubs()
			if err := fleet.StartHubs(2); err != nil {
				return err
			}
			var err error
			leader, err = fleet.HubLeader(context.Background(), time.Minute)
			t.Logf("replica %d leads", leader)
			return err
		},
		inject: func() error { return fleet.KillHub(leader) },
		end: func() error {
			next, err := fleet.HubLeader(context.Background(), time.Minute)
			if err != nil {
				return err
			}
			if next == leader {
				return fmt.Errorf("the killed replica %d still leads", leader)
			}
			t.Logf("replica %d took over", next)
			return nil
		},
		cleanup: func() error {
			fleet.StopHubs()
			return fleet.StartHubs(1)
		},
		healthy: memberNames(),
	}.run(t)
}

// member-3's hub token is revoked: its agent cannot reach the hub, while its cluster stays
// healthy and keeps everything placed. A new token in its token file lets it back in.
func TestMemberTokenRevokedAndRestored(t *testing.T) {
	fault{
		name:   "token",
		inject: func() error { return fleet.RevokeAgentToken(context.Background(), "member-3") },
		hold:   10 * time.Second,
		end: func() error {
			_, err := fleet.RenewAgentToken(context.Background(), "member-3")
			return err
		},
		healthy: memberNames(),
	}.run(t)
}
