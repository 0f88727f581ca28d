package upgradeexec_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/hub/upgradeexec"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/providers"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	testenv.Main(m, 0, &fleet)
}

// cloud is a hub-side provider that takes three steps per operation, fails members whose
// reference annotation says so, and errors once before its first step on "flaky".
type cloud struct {
	mu     sync.Mutex
	steps  map[string]int
	flaked bool
}

func (*cloud) Name() string { return "cloud" }

func (*cloud) Profile(_ context.Context, m providers.Member) (*u.MemberUpgradeProfileStatus, error) {
	return &u.MemberUpgradeProfileStatus{Region: m.Annotations["example.com/region"], KubernetesVersion: "v1.35.8"}, nil
}

func (c *cloud) Step(_ context.Context, m providers.Member, op providers.Operation) (providers.Progress, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Annotations["example.com/broken"] == "true" {
		return providers.Progress{}, providers.Failf("the cloud refused: quota exceeded in %s", m.Annotations["example.com/region"])
	}
	if m.Name == "flaky" && !c.flaked {
		c.flaked = true
		return providers.Progress{}, errors.New("the cloud API timed out")
	}
	c.steps[m.Name]++
	if c.steps[m.Name] < 3 {
		return providers.Progress{Message: "upgrading", After: 20 * time.Millisecond}, nil
	}
	return providers.Progress{Done: true, Message: "upgraded to " + op.Spec.KubernetesVersion}, nil
}

func member(t *testing.T, c client.Client, name, provider string, annotations map[string]string) {
	t.Helper()
	ctx := context.Background()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[u.ProviderAnnotation] = provider
	annotations["example.com/region"] = "northeurope"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterv1beta1.NamespaceForMember(name)}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &clusterv1beta1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec:       clusterv1beta1.MemberClusterSpec{Identity: localfleet.AgentIdentity(name)},
	}); err != nil {
		t.Fatal(err)
	}
}

func operation(t *testing.T, c client.Client, memberName, provider string) {
	t.Helper()
	if err := c.Create(context.Background(), &u.MemberUpdate{
		ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: clusterv1beta1.NamespaceForMember(memberName)},
		Spec:       u.MemberUpdateSpec{UpdateRun: "run", Provider: provider, Type: u.UpgradeControlPlaneOnly, KubernetesVersion: "1.36.1"},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestHubExecutorAndProfiles(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(fleet.Hub.Config, ctrl.Options{
		Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	g.Expect(err).NotTo(HaveOccurred())
	p := &cloud{steps: map[string]int{}}
	g.Expect(upgradeexec.Setup(mgr, upgradeexec.Options{Providers: []providers.Provider{p}, Workers: 2})).To(Succeed())
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() { cancel(); g.Expect(<-done).To(Succeed()) }()

	member(t, c, "good", "cloud", nil)
	member(t, c, "flaky", "cloud", nil)
	member(t, c, "broken", "cloud", map[string]string{"example.com/broken": "true"})
	member(t, c, "elsewhere", "local", nil)
	for _, name := range []string{"good", "flaky", "broken"} {
		operation(t, c, name, "cloud")
	}
	operation(t, c, "elsewhere", "local")

	get := func(g Gomega, name string) *u.MemberUpdate {
		mu := &u.MemberUpdate{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: "run"}, mu)).To(Succeed())
		return mu
	}
	g.Eventually(func(g Gomega) {
		for _, name := range []string{"good", "flaky"} {
			mu := get(g, name)
			g.Expect(mu.Status.State).To(Equal(u.StateCompleted), name)
			g.Expect(mu.Status.Message).To(Equal("upgraded to 1.36.1"))
			g.Expect(mu.Status.StartTime).NotTo(BeNil())
			g.Expect(mu.Status.CompletedTime.Time).NotTo(BeTemporally("<", mu.Status.StartTime.Time))
		}
		broken := get(g, "broken")
		g.Expect(broken.Status.State).To(Equal(u.StateFailed))
		g.Expect(broken.Status.Message).To(Equal("the cloud refused: quota exceeded in northeurope"))
	}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
	// Three steps each, requeued by the provider's After; the flaky member's error was retried.
	p.mu.Lock()
	g.Expect(p.steps).To(HaveKeyWithValue("good", 3))
	g.Expect(p.steps).To(HaveKeyWithValue("flaky", 3))
	g.Expect(p.flaked).To(BeTrue())
	p.mu.Unlock()
	// An operation of a provider this executor does not serve is left alone.
	g.Consistently(func(g Gomega) {
		g.Expect(get(g, "elsewhere").Status.State).To(BeEmpty())
	}, 500*time.Millisecond, 100*time.Millisecond).Should(Succeed())

	// Profiles are published for the provider's members only, from the MemberCluster's annotations.
	g.Eventually(func(g Gomega) {
		profile := &u.MemberUpgradeProfile{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember("good"), Name: "good"}, profile)).To(Succeed())
		g.Expect(profile.Status.Provider).To(Equal("cloud"))
		g.Expect(profile.Status.Region).To(Equal("northeurope"))
		g.Expect(profile.Status.ObservedTime).NotTo(BeNil())
	}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
	err = c.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember("elsewhere"), Name: "elsewhere"}, &u.MemberUpgradeProfile{})
	g.Expect(client.IgnoreNotFound(err)).To(Succeed())
	g.Expect(err).To(HaveOccurred(), "a profile was published for a member of another provider")
}
