package eligibility

import (
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

func eligibleMember(now time.Time) *clusterv1beta1.MemberCluster {
	return &clusterv1beta1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "m"},
		Spec:       clusterv1beta1.MemberClusterSpec{Identity: rbacv1.Subject{Kind: "ServiceAccount", Name: "m-agent", Namespace: "fleet-system"}},
		Status: clusterv1beta1.MemberClusterStatus{AgentStatus: []clusterv1beta1.AgentStatus{{
			Type:                  clusterv1beta1.MemberAgent,
			LastReceivedHeartbeat: metav1.NewTime(now.Add(-time.Minute)),
			Conditions: []metav1.Condition{
				{Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionTrue},
				{Type: clusterv1beta1.ConditionHealthy, Status: metav1.ConditionTrue},
			},
		}}},
	}
}

func TestEligible(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		mutate   func(*clusterv1beta1.MemberCluster)
		eligible bool
		reason   string
	}{
		{name: "joined, fresh and healthy", mutate: func(*clusterv1beta1.MemberCluster) {}, eligible: true},
		{name: "being deleted", eligible: false, reason: "being deleted", mutate: func(mc *clusterv1beta1.MemberCluster) {
			mc.DeletionTimestamp = &metav1.Time{Time: now}
		}},
		{name: "update-only member without identity", eligible: false, reason: "no agent identity", mutate: func(mc *clusterv1beta1.MemberCluster) {
			mc.Spec.Identity = rbacv1.Subject{}
		}},
		{name: "agent never reported", eligible: false, reason: "not reported", mutate: func(mc *clusterv1beta1.MemberCluster) {
			mc.Status.AgentStatus = nil
		}},
		{name: "agent left", eligible: false, reason: "not joined", mutate: func(mc *clusterv1beta1.MemberCluster) {
			mc.Status.AgentStatus[0].Conditions[0].Status = metav1.ConditionFalse
		}},
		{name: "heartbeat six minutes old", eligible: false, reason: "last heartbeat is 6m0s old", mutate: func(mc *clusterv1beta1.MemberCluster) {
			mc.Status.AgentStatus[0].LastReceivedHeartbeat = metav1.NewTime(now.Add(-6 * time.Minute))
		}},
		{name: "unhealthy for four minutes", eligible: true, mutate: func(mc *clusterv1beta1.MemberCluster) {
			mc.Status.AgentStatus[0].Conditions[1] = metav1.Condition{Type: clusterv1beta1.ConditionHealthy, Status: metav1.ConditionFalse,
				LastTransitionTime: metav1.NewTime(now.Add(-4 * time.Minute))}
		}},
		{name: "unhealthy for six minutes", eligible: false, reason: "unhealthy since", mutate: func(mc *clusterv1beta1.MemberCluster) {
			mc.Status.AgentStatus[0].Conditions[1] = metav1.Condition{Type: clusterv1beta1.ConditionHealthy, Status: metav1.ConditionFalse,
				LastTransitionTime: metav1.NewTime(now.Add(-6 * time.Minute)), Message: "readyz failed"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mc := eligibleMember(now)
			tc.mutate(mc)
			got, reason := Eligible(mc, now)
			if got != tc.eligible {
				t.Fatalf("Eligible = %v (%q), want %v", got, reason, tc.eligible)
			}
			if !containsFold(reason, tc.reason) {
				t.Errorf("reason %q does not say %q", reason, tc.reason)
			}
		})
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(s, sub)
}
