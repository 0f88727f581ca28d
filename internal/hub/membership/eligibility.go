package membership

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

// Eligible says whether a member may receive new placements at the given time, and if not,
// why, in words fit for a status message. A member is eligible when it is not being
// deleted, has an agent identity, its member agent joined and sent a heartbeat in the last
// five minutes, and it has not been unhealthy for more than five minutes.
func Eligible(mc *clusterv1beta1.MemberCluster, now time.Time) (bool, string) {
	if mc.DeletionTimestamp != nil {
		return false, "the member cluster is being deleted"
	}
	if mc.Spec.Identity.Name == "" {
		return false, "the member cluster has no agent identity (it is update-only)"
	}
	agent := AgentStatusOf(mc.Status.AgentStatus, clusterv1beta1.MemberAgent)
	if agent == nil {
		return false, "the member agent has not reported yet"
	}
	if joined := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionJoined); joined == nil || joined.Status != metav1.ConditionTrue {
		return false, "the member agent has not joined"
	}
	if age := now.Sub(agent.LastReceivedHeartbeat.Time); age > HeartbeatStaleAfter {
		return false, fmt.Sprintf("the last heartbeat is %s old (more than %s)", age.Round(time.Second), HeartbeatStaleAfter)
	}
	if healthy := meta.FindStatusCondition(agent.Conditions, clusterv1beta1.ConditionHealthy); healthy != nil &&
		healthy.Status == metav1.ConditionFalse && now.Sub(healthy.LastTransitionTime.Time) > UnhealthyGrace {
		return false, fmt.Sprintf("the member cluster has been unhealthy since %s: %s", healthy.LastTransitionTime.UTC().Format(time.RFC3339), healthy.Message)
	}
	return true, ""
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
