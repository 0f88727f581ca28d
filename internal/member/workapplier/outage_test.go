package workapplier_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/member/workapplier"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

// outageMember is the fleet member this test's own applier serves; the shared agents of
// start() serve the others.
const outageMember = 2

// TestAppliesAtOnceWhenTheMemberComesBack cuts the applier off its member's API server,
// changes one Work and creates another meanwhile, then lets the member back. The applier's
// retries are paced by a limiter that waits a minute after a failure, longer than the
// test's deadline: the Works converge in time only because the applier notices that the
// member is ready again and applies every Work at once. (Before that resync existed, the
// applier stalled for its whole backoff, which reached 16 minutes.)
func TestAppliesAtOnceWhenTheMemberComesBack(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub, _ := start(t)
	m := fleet.Members[outageMember]
	ns := clusterv1beta1.NamespaceForMember(m.Name)
	g.Expect(hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	g.Expect(hub.Create(ctx, &clusterv1beta1.InternalMemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: ns},
		Spec:       clusterv1beta1.InternalMemberClusterSpec{State: clusterv1beta1.ClusterStateJoin, HeartbeatPeriodSeconds: 5},
	})).To(Succeed())

	u, err := url.Parse(m.Config.Host)
	g.Expect(err).NotTo(HaveOccurred())
	proxy, err := testenv.NewCutProxy(u.Host)
	g.Expect(err).NotTo(HaveOccurred())
	defer proxy.Close()
	memberCfg, err := proxy.Through(m.Config)
	g.Expect(err).NotTo(HaveOccurred())
	startOutageApplier(t, ctx, m.Name, memberCfg)

	direct, err := client.New(m.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	first := &placementv1beta1.Work{
		ObjectMeta: metav1.ObjectMeta{Name: "outage-first", Namespace: ns},
		Spec: placementv1beta1.WorkSpec{Workload: placementv1beta1.WorkloadTemplate{Manifests: manifests(t,
			namespace("outage"), configMap("outage", "settings", map[string]string{"v": "1"}))}},
	}
	g.Expect(hub.Create(ctx, first)).To(Succeed())
	cm := &corev1.ConfigMap{}
	g.Eventually(func(g Gomega) {
		g.Expect(direct.Get(ctx, client.ObjectKey{Namespace: "outage", Name: "settings"}, cm)).To(Succeed())
		g.Expect(cm.Data).To(HaveKeyWithValue("v", "1"))
	}, timeout, poll).Should(Succeed())

	errorsAtCut := applierErrors(t)
	proxy.Cut()
	setManifests(t, first, nil, namespace("outage"), configMap("outage", "settings", map[string]string{"v": "2"}))
	second := &placementv1beta1.Work{
		ObjectMeta: metav1.ObjectMeta{Name: "outage-second", Namespace: ns},
		Spec: placementv1beta1.WorkSpec{Workload: placementv1beta1.WorkloadTemplate{Manifests: manifests(t,
			configMap("outage", "added-while-away", map[string]string{"v": "1"}))}},
	}
	g.Expect(hub.Create(ctx, second)).To(Succeed())
	// The outage lasts until the applier saw the member as not ready and its reconciles of
	// both Works failed, so that each waits for its slow retry.
	g.Eventually(func(g Gomega) {
		g.Expect(memberReadyGauge(g, m.Name)).To(BeZero())
		g.Expect(applierErrors(t)).To(BeNumerically(">=", errorsAtCut+2))
	}, timeout, poll).Should(Succeed())
	g.Expect(proxy.Restore()).To(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(direct.Get(ctx, client.ObjectKey{Namespace: "outage", Name: "settings"}, cm)).To(Succeed())
		g.Expect(cm.Data).To(HaveKeyWithValue("v", "2"))
		g.Expect(direct.Get(ctx, client.ObjectKey{Namespace: "outage", Name: "added-while-away"}, &corev1.ConfigMap{})).To(Succeed())
	}, timeout, poll).Should(Succeed(), "the Works were not applied after the member came back")
}

// memberReadyGauge reads the applier's readiness gauge of the member.
func memberReadyGauge(g Gomega, member string) float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != workapplier.MemberReadyMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "member" && l.GetValue() == member {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	g.Expect(member).To(BeEmpty(), "no %s gauge for the member yet", workapplier.MemberReadyMetric)
	return -1
}

// applierErrors sums the failed reconciles of every work applier in the process.
func applierErrors(t *testing.T) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "workapplier" {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// startOutageApplier runs a work applier alone for the member, reaching it through
// memberCfg, with a retry limiter slower than the test's deadline.
func startOutageApplier(t *testing.T, ctx context.Context, name string, memberCfg *rest.Config) {
	t.Helper()
	g := NewWithT(t)
	ns := clusterv1beta1.NamespaceForMember(name)
	g.Expect(install.Member(ctx, memberCfg)).To(Succeed())
	mgr, err := ctrl.NewManager(fleet.Hub.Config, ctrl.Options{
		Scheme:     scheme.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	g.Expect(err).NotTo(HaveOccurred())
	memberCluster, err := cluster.New(memberCfg, func(o *cluster.Options) { o.Scheme = scheme.Scheme })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(mgr.Add(memberCluster)).To(Succeed())
	dyn, err := dynamic.NewForConfig(memberCfg)
	g.Expect(err).NotTo(HaveOccurred())
	clientset, err := kubernetes.NewForConfig(memberCfg)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(workapplier.Setup(mgr, workapplier.Options{
		Member: memberCluster, Dynamic: dyn, Clientset: clientset, MemberName: name,
		ResyncPeriod: 500 * time.Millisecond, MaxBackoff: 10 * time.Minute,
		HealthPollPeriod: 100 * time.Millisecond,
		RetryLimiter:     workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Minute, 10*time.Minute),
	})).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("the outage applier's manager: %v", err)
		}
	})
}
