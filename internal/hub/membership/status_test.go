package membership

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

func imcWithAgentJoined(state clusterv1beta1.ClusterState, joined metav1.ConditionStatus) *clusterv1beta1.InternalMemberCluster {
	imc := &clusterv1beta1.InternalMemberCluster{}
	imc.Generation = 2
	imc.Spec.State = state
	imc.Status.AgentStatus = []clusterv1beta1.AgentStatus{{
		Type:                  clusterv1beta1.MemberAgent,
		LastReceivedHeartbeat: metav1.Now(),
		Conditions: []metav1.Condition{{
			Type: clusterv1beta1.ConditionJoined, Status: joined, Reason: "Agent", ObservedGeneration: 2,
		}},
	}}
	return imc
}

func TestJoinedReasonTellsALeaveFromAFailedJoin(t *testing.T) {
	g := NewWithT(t)
	r := &Reconciler{Clock: clock.RealClock{}}
	cases := []struct {
		state  clusterv1beta1.ClusterState
		joined metav1.ConditionStatus
		reason string
	}{
		{clusterv1beta1.ClusterStateJoin, metav1.ConditionTrue, ReasonJoined},
		{clusterv1beta1.ClusterStateJoin, metav1.ConditionFalse, ReasonNotJoined},
		{clusterv1beta1.ClusterStateLeave, metav1.ConditionFalse, ReasonLeft},
	}
	for _, tc := range cases {
		mc := &clusterv1beta1.MemberCluster{}
		r.copyAgentStatus(mc, imcWithAgentJoined(tc.state, tc.joined))
		joined := meta.FindStatusCondition(mc.Status.Conditions, clusterv1beta1.ConditionJoined)
		g.Expect(joined).NotTo(BeNil())
		g.Expect(joined.Reason).To(Equal(tc.reason), "state %s, agent Joined=%s", tc.state, tc.joined)
	}
}
