// Package eligibility decides which members may receive placements: joined, not leaving,
// healthy and with a fresh heartbeat, judged against how long the hub has been able to hear
// heartbeats at all. The scheduler, the membership controller and the CLI share it.
package eligibility

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

const (
	// HeartbeatStaleAfter is how old the last heartbeat may be before a member is ineligible.
	HeartbeatStaleAfter = 5 * time.Minute
	// UnhealthyGrace is how long a member may be unhealthy before it is ineligible.
	UnhealthyGrace = 5 * time.Minute
)

// DefaultMaxStaleShare is the share of joined members that may look stale at once before
// the hub stops believing their staleness. It is the unhealthy-zone threshold of
// Kubernetes' node lifecycle controller.
const DefaultMaxStaleShare = 0.55

// Hearing says how long the hub controllers have been able to hear heartbeats, and how far
// they trust staleness. Its zero value trusts every heartbeat age as it is.
type Hearing struct {
	// Since is when the hub controllers began hearing heartbeats: their start, or the moment
	// the hub's API server answered again after it had not. Zero means always.
	Since time.Time
	// Grace is how long after Since no member is judged stale: its agent needs time to
	// reach the hub again. Zero means HeartbeatStaleAfter.
	Grace time.Duration
	// MaxStaleShare is the share of joined members (0 to 1) that may look stale at once;
	// when more do, the fault is more likely the hub's than theirs, and no member loses a
	// placement for staleness (see Judge). Zero means DefaultMaxStaleShare; 1 or more never
	// holds.
	MaxStaleShare float64
}

func (h Hearing) grace() time.Duration {
	if h.Grace <= 0 {
		return HeartbeatStaleAfter
	}
	return h.Grace
}

func (h Hearing) maxStaleShare() float64 {
	if h.MaxStaleShare <= 0 {
		return DefaultMaxStaleShare
	}
	return h.MaxStaleShare
}

// Judgement is what the hub believes about heartbeats at one moment, across the fleet.
type Judgement struct {
	Hearing Hearing
	// Joined counts the members whose agent joined (and that are not being deleted); Stale
	// counts those among them whose heartbeat is stale.
	Joined, Stale int
	// Hold is true when more than MaxStaleShare of the joined members look stale at once:
	// placements then stay where they are rather than moving away from stale members.
	Hold bool
}

// Judge counts the joined members whose heartbeats look stale at now and decides whether
// to hold placements in place. Like the node lifecycle controller that stops evicting
// when a whole zone goes dark, it does not believe a fleet-wide silence: that is what an
// outage of the hub itself looks like from the hub.
func Judge(members []clusterv1beta1.MemberCluster, now time.Time, h Hearing) Judgement {
	j := Judgement{Hearing: h}
	for i := range members {
		mc := &members[i]
		if mc.DeletionTimestamp != nil || mc.Spec.Identity.Name == "" {
			continue
		}
		agent := AgentStatusOf(mc.Status.AgentStatus, clusterv1beta1.MemberAgent)
		if agent == nil {
			continue
		}
		if joined := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionJoined); joined == nil || joined.Status != metav1.ConditionTrue {
			continue
		}
		j.Joined++
		if stale, _ := h.heartbeatStale(agent.LastReceivedHeartbeat.Time, now); stale {
			j.Stale++
		}
	}
	j.Hold = j.Stale > 0 && float64(j.Stale) > h.maxStaleShare()*float64(j.Joined)
	return j
}

// heartbeatStale says whether a heartbeat sent at last is stale at now, and its age. A
// heartbeat is stale when it is older than HeartbeatStaleAfter and the hub has been
// hearing for longer than the grace period: a member cannot be blamed for heartbeats the
// hub could not receive.
func (h Hearing) heartbeatStale(last, now time.Time) (bool, time.Duration) {
	age := now.Sub(last)
	if age <= HeartbeatStaleAfter {
		return false, age
	}
	if !h.Since.IsZero() && now.Sub(h.Since) <= h.grace() {
		return false, age
	}
	return true, age
}

// Eligible says whether a member may receive new placements at the given time, and if not,
// why, in words fit for a status message. A member is eligible when it is not being
// deleted, has an agent identity, its member agent joined and sent a heartbeat in the last
// five minutes, and it has not been unhealthy for more than five minutes.
func Eligible(mc *clusterv1beta1.MemberCluster, now time.Time) (bool, string) {
	ok, why, _ := EligibleHearing(mc, now, Hearing{})
	return ok, why
}

// EligibleHearing is Eligible with heartbeat ages judged by what the hub could hear (see
// Hearing). staleOnly says that the member is ineligible only because its heartbeat is
// stale, which a Judgement that holds does not act on for members that hold a placement.
func EligibleHearing(mc *clusterv1beta1.MemberCluster, now time.Time, h Hearing) (ok bool, why string, staleOnly bool) {
	if mc.DeletionTimestamp != nil {
		return false, "the member cluster is being deleted", false
	}
	if mc.Spec.Identity.Name == "" {
		return false, "the member cluster has no agent identity (it is update-only)", false
	}
	agent := AgentStatusOf(mc.Status.AgentStatus, clusterv1beta1.MemberAgent)
	if agent == nil {
		return false, "the member agent has not reported yet", false
	}
	if joined := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionJoined); joined == nil || joined.Status != metav1.ConditionTrue {
		return false, "the member agent has not joined", false
	}
	if healthy := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionHealthy); healthy != nil &&
		healthy.Status == metav1.ConditionFalse && now.Sub(healthy.LastTransitionTime.Time) > UnhealthyGrace {
		return false, fmt.Sprintf("the member cluster has been unhealthy since %s: %s", healthy.LastTransitionTime.UTC().Format(time.RFC3339), healthy.Message), false
	}
	if stale, age := h.heartbeatStale(agent.LastReceivedHeartbeat.Time, now); stale {
		return false, fmt.Sprintf("the last heartbeat is %s old (more than %s)", age.Round(time.Second), HeartbeatStaleAfter), true
	}
	return true, "", false
}

// AgentStatusOf returns the status of the given agent, or nil.
func AgentStatusOf(statuses []clusterv1beta1.AgentStatus, t clusterv1beta1.AgentType) *clusterv1beta1.AgentStatus {
	for i := range statuses {
		if statuses[i].Type == t {
			return &statuses[i]
		}
	}
	return nil
}
