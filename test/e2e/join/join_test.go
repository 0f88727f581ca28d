// Package join runs `flotilla member join` and `flotilla member unjoin` end to end: a cluster
// of the local fleet with nothing of Flotilla on it is joined, its agent runs as its own
// process with exactly the credentials join issued, renews them, receives a placement, and
// is taken out again.
package join

import (
	"context"
	"os/exec"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *fleetup.Fleet

// One joined member, and member-2 with nothing on it. --workloads makes the agent chart's
// Deployment really become Available (kwok plays its pods).
func TestMain(m *testing.M) {
	testenv.WorkloadFleetMain(m, "e2e-join", fleetup.Options{Members: 1, Spare: 1, HeartbeatSeconds: 1}, &fleet, nil)
}

// run runs the flotilla binary and returns its output; it fails the test on a non-zero exit.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("flotilla %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestJoinRenewPlaceUnjoin(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	bin := testenv.BuildFlotilla(t)
	spare := fleet.Members[1]
	const name = "member-2"
	hubCfg, memberCfg := fleet.Fleet.Hub.KubeconfigPath, spare.KubeconfigPath
	hubCS, err := kubernetes.NewForConfig(fleet.Fleet.Hub.Config)
	g.Expect(err).NotTo(HaveOccurred())
	memberCS, err := kubernetes.NewForConfig(spare.Config)
	g.Expect(err).NotTo(HaveOccurred())
	member, err := client.New(spare.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())

	// Join, without waiting: the agent is started below, as its own process.
	out := run(t, bin, "member", "join", name, "--hub-kubeconfig", hubCfg, "--member-kubeconfig", memberCfg,
		"--token-lifetime", "10m", "--heartbeat-period", "1s", "--label", "env=e2e", "--wait", "0")
	g.Expect(out).To(And(ContainSubstring("identity fleet-system/member-2-agent"), ContainSubstring("issued a token"),
		ContainSubstring("agent chart flotilla-agent"), ContainSubstring("member-2 is set up to join")))
	secret, err := memberCS.CoreV1().Secrets("flotilla-system").Get(ctx, "flotilla-agent-hub", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	issued := string(secret.Data["token"])
	g.Expect(issued).NotTo(BeEmpty())

	// The chart's Deployment becomes Available on a cluster that runs pods (kwok's here).
	g.Eventually(func(g Gomega) {
		d, err := memberCS.AppsV1().Deployments("flotilla-system").Get(ctx, "flotilla-agent", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		var available bool
		for _, c := range d.Status.Conditions {
			available = available || (c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue)
		}
		g.Expect(available).To(BeTrue(), "conditions: %v", d.Status.Conditions)
	}, 2*time.Minute, 500*time.Millisecond).Should(Succeed())

	// The agent, as its own process, with the credentials in the Secret and nothing else of
	// the hub's. A token of 10 minutes is renewed after 12 seconds.
	agentLog := &testenv.SyncBuffer{}
	agent := exec.Command(bin, "agent", "--name", name, "--kubeconfig", memberCfg,
		"--hub-credentials-secret", "flotilla-system/flotilla-agent-hub", "--hub-token-renew-fraction", "0.02",
		"--health-probe-bind-address", "0")
	agent.Stdout, agent.Stderr = agentLog, agentLog
	g.Expect(agent.Start()).To(Succeed())
	t.Cleanup(func() {
		_ = agent.Process.Kill()
		_ = agent.Wait()
		if t.Failed() {
			t.Logf("agent log:\n%s", agentLog.String())
		}
	})

	// Join again: nothing changes, and it waits until the member is Joined.
	out = run(t, bin, "member", "join", name, "--hub-kubeconfig", hubCfg, "--member-kubeconfig", memberCfg,
		"--token-lifetime", "10m", "--heartbeat-period", "1s", "--label", "env=e2e", "--wait", "2m")
	g.Expect(out).To(And(ContainSubstring("current token is valid; kept"), ContainSubstring("is up to date"),
		ContainSubstring("Joined=True"), ContainSubstring("member-2 joined the fleet")))
	mc := &clusterv1beta1.MemberCluster{}
	g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: name}, mc)).To(Succeed())
	g.Expect(mc.Labels).To(HaveKeyWithValue("env", "e2e"))
	g.Expect(meta.IsStatusConditionTrue(mc.Status.Conditions, clusterv1beta1.ConditionAgentIdentity)).To(BeTrue())

	// The agent renews its token in the Secret, and goes on with the new one.
	g.Eventually(func(g Gomega) {
		secret, err := memberCS.CoreV1().Secrets("flotilla-system").Get(ctx, "flotilla-agent-hub", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(secret.Data["token"])).NotTo(Equal(issued))
	}, time.Minute, 500*time.Millisecond).Should(Succeed())
	g.Eventually(agentLog.String, 10*time.Second, 200*time.Millisecond).Should(ContainSubstring("renewed the hub token"))

	// A placement reaches it.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "joined-app"}}
	g.Expect(fleet.Hub.Create(ctx, ns)).To(Succeed())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns.Name}, Data: map[string]string{"colour": "blue"}}
	g.Expect(fleet.Hub.Create(ctx, cm)).To(Succeed())
	crp := &placementv1beta1.ClusterResourcePlacement{
		ObjectMeta: metav1.ObjectMeta{Name: "joined-app"},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{
			ResourceSelectors: []placementv1beta1.ClusterResourceSelector{{Group: "", Version: "v1", Kind: "Namespace", Name: ns.Name}},
			Policy:            &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickFixedPlacementType, ClusterNames: []string{name}},
		},
	}
	g.Expect(fleet.Hub.Create(ctx, crp)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &corev1.ConfigMap{}
		g.Expect(member.Get(ctx, client.ObjectKeyFromObject(cm), got)).To(Succeed())
		g.Expect(got.Data).To(HaveKeyWithValue("colour", "blue"))
	}, 2*time.Minute, 500*time.Millisecond).Should(Succeed())

	// Unjoin: the agent leaves, its release and identity go, the placed ConfigMap stays.
	out = run(t, bin, "member", "unjoin", name, "--hub-kubeconfig", hubCfg, "--member-kubeconfig", memberCfg, "--wait", "2m")
	g.Expect(out).To(And(ContainSubstring("member-2 left the fleet"), ContainSubstring("release flotilla-system/flotilla-agent uninstalled"),
		ContainSubstring("identity fleet-system/member-2-agent removed"), ContainSubstring("member-2 is out of the fleet")))
	err = fleet.Hub.Get(ctx, client.ObjectKey{Name: name}, &clusterv1beta1.MemberCluster{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "MemberCluster: %v", err)
	_, err = hubCS.CoreV1().ServiceAccounts("fleet-system").Get(ctx, name+"-agent", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "ServiceAccount: %v", err)
	_, err = hubCS.RbacV1().Roles("fleet-system").Get(ctx, "flotilla-agent-token-"+name, metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Role: %v", err)
	g.Eventually(func() bool {
		_, err := memberCS.AppsV1().Deployments("flotilla-system").Get(ctx, "flotilla-agent", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, time.Minute, 500*time.Millisecond).Should(BeTrue())
	_, err = memberCS.CoreV1().Secrets("flotilla-system").Get(ctx, "flotilla-agent-hub", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "credentials Secret: %v", err)
	g.Expect(member.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{})).To(Succeed(), "the placed ConfigMap stays")

	// Unjoin again: nothing left to do, and no error.
	out = run(t, bin, "member", "unjoin", name, "--hub-kubeconfig", hubCfg, "--member-kubeconfig", memberCfg, "--wait", "1m")
	g.Expect(out).To(And(ContainSubstring("gone already"), ContainSubstring("no release")))
}
