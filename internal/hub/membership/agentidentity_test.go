package membership_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
)

// The AgentIdentity condition follows the agent's ServiceAccount: missing, it says the agent
// is revoked and what to run; made, it turns True; deleted (revoked), False again.
func TestAgentIdentityFollowsServiceAccount(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	mc := newMember("idcheck")
	g.Expect(c.Create(ctx, mc)).To(Succeed())
	identity := func(g Gomega) metav1.Condition {
		return condition(g, c, "idcheck", clusterv1beta1.ConditionAgentIdentity)
	}

	g.Eventually(func(g Gomega) {
		cond := identity(g)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal("AgentIdentityNotFound"))
		g.Expect(cond.Message).To(And(ContainSubstring("fleet-system/idcheck-agent"), ContainSubstring("flotilla member join idcheck")))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "idcheck-agent", Namespace: "fleet-system"}}
	g.Expect(c.Create(ctx, sa)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(identity(g).Status).To(Equal(metav1.ConditionTrue))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Expect(c.Delete(ctx, sa)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(identity(g).Reason).To(Equal("AgentIdentityNotFound"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}
