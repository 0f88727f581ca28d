package imc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/member/imc"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// TestHeartbeatKeepsItsPeriodAfterHubErrors is the regression test for the hub outage that
// deleted placed resources: while the hub refused heartbeat writes, the agent's heartbeat
// fell back on the workqueue's exponential backoff, so after the hub came back the next
// heartbeat came many periods late. Here the hub refuses every heartbeat write for 12 s
// (a 1 s period); once it accepts writes again, a heartbeat must land within a few periods.
func TestHeartbeatKeepsItsPeriodAfterHubErrors(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const member = "member-outage"
	hub, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ns := clusterv1beta1.NamespaceForMember(member)
	g.Expect(hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	record := &clusterv1beta1.InternalMemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: member, Namespace: ns},
		Spec:       clusterv1beta1.InternalMemberClusterSpec{State: clusterv1beta1.ClusterStateJoin, HeartbeatPeriodSeconds: 1},
	}
	g.Expect(hub.Create(ctx, record)).To(Succeed())

	// The agent's readiness is read where a kubelet would: its /readyz, on a free port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	healthAddr := l.Addr().String()
	g.Expect(l.Close()).To(Succeed())
	ready := func() error {
		resp, err := http.Get("http://" + healthAddr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	}
	mgr, err := ctrl.NewManager(fleet.Hub.Config, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: healthAddr,
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	g.Expect(err).NotTo(HaveOccurred())
	// The hub's outage, as the agent sees it: every status write fails while hubDown is set.
	var hubDown atomic.Bool
	var refused atomic.Int32
	direct, err := client.NewWithWatch(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	failing := interceptor.NewClient(direct, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if hubDown.Load() {
				refused.Add(1)
				return errors.New("the hub's API server is unreachable (injected)")
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	memberClientset, err := kubernetes.NewForConfig(fleet.Members[0].Config)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(imc.Setup(mgr, imc.Options{Hub: failing, Member: memberClientset, MemberName: member})).To(Succeed())
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		cancel()
		g.Expect(<-done).To(Succeed())
	}()

	lastHeartbeat := func(g Gomega) time.Time {
		got := &clusterv1beta1.InternalMemberCluster{}
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(record), got)).To(Succeed())
		agent := eligibility.AgentStatusOf(got.Status.AgentStatus, clusterv1beta1.MemberAgent)
		g.Expect(agent).NotTo(BeNil())
		return agent.LastReceivedHeartbeat.Time
	}
	g.Eventually(func(g Gomega) { lastHeartbeat(g) }, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Eventually(ready, 10*time.Second, 100*time.Millisecond).Should(Succeed())

	hubDown.Store(true)
	outage := time.Now()
	// During the outage the agent keeps trying at its period and says it is not ready.
	g.Eventually(func() error { return ready() }, 10*time.Second, 100*time.Millisecond).Should(HaveOccurred())
	for time.Since(outage) < 12*time.Second {
		g.Expect(ready()).To(HaveOccurred())
		time.Sleep(200 * time.Millisecond) // the outage's length, not a wait for a result
	}
	tries := refused.Load()
	// At a 1 s period, 12 s of outage is about 12 tries; far more would mean no pause at all.
	g.Expect(tries).To(BeNumerically(">=", 8), "the agent retried %d times in 12 s", tries)
	g.Expect(tries).To(BeNumerically("<=", 40), "the agent retried %d times in 12 s", tries)
	hubDown.Store(false)
	back := time.Now()

	// The next heartbeat lands within a few periods, not after the backoff's growing delay.
	g.Eventually(func(g Gomega) {
		g.Expect(lastHeartbeat(g)).To(BeTemporally(">", back))
	}, 4*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Eventually(func() error { return ready() }, 4*time.Second, 100*time.Millisecond).Should(Succeed())
}
