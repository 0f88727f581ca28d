package updaterun_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/hub/updaterun"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var (
	fleet *localfleet.Fleet
	hub   client.Client
	exec  *fakeExecutor
)

const family = "Ubuntu"

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	testenv.Main(m, 0, &fleet)
}

// start runs the orchestrator and the fake executor for the test.
func start(t *testing.T) {
	t.Helper()
	mgr, err := ctrl.NewManager(fleet.Hub.Config, ctrl.Options{
		Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := updaterun.Setup(mgr, updaterun.Options{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if hub, err = client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme}); err != nil {
		t.Fatal(err)
	}
	exec = &fakeExecutor{c: hub, delay: 300 * time.Millisecond, fail: map[string]string{}, hold: map[string]bool{}, started: map[string]time.Time{}}
	go exec.run(ctx)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// fakeExecutor plays the provider executors: it takes every MemberUpdate, and completes it
// after delay, fails it with a message, or holds it, on cue.
type fakeExecutor struct {
	c       client.Client
	mu      sync.Mutex
	delay   time.Duration
	fail    map[string]string // member -> failure message
	hold    map[string]bool
	started map[string]time.Time
	calls   []string // members whose operation it took, in order
}

func (e *fakeExecutor) set(f func()) { e.mu.Lock(); defer e.mu.Unlock(); f() }

func (e *fakeExecutor) took() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

func (e *fakeExecutor) run(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var list u.MemberUpdateList
		if e.c.List(ctx, &list) != nil {
			continue
		}
		for i := range list.Items {
			e.step(ctx, &list.Items[i])
		}
	}
}

func (e *fakeExecutor) step(ctx context.Context, mu *u.MemberUpdate) {
	e.mu.Lock()
	defer e.mu.Unlock()
	member := mu.Labels[u.MemberLabel]
	now := metav1.NewMicroTime(time.Now())
	switch mu.Status.State {
	case "":
		mu.Status = u.MemberUpdateStatus{State: u.StateRunning, StartTime: &now, Message: "upgrading"}
		if e.c.Status().Update(ctx, mu) == nil {
			e.started[mu.Namespace] = time.Now()
			e.calls = append(e.calls, member)
		}
	case u.StateRunning:
		if e.hold[member] || time.Since(e.started[mu.Namespace]) < e.delay {
			return
		}
		if msg, ok := e.fail[member]; ok {
			mu.Status.State, mu.Status.Message = u.StateFailed, msg
		} else {
			mu.Status.State, mu.Status.Message = u.StateCompleted, "upgraded"
		}
		mu.Status.CompletedTime = &now
		if mu.Status.State == u.StateCompleted {
			// A real provider publishes the member's new images before it reports success.
			e.publishImages(ctx, mu.Namespace, member, mu.Spec.NodeImageVersions)
		}
		_ = e.c.Status().Update(ctx, mu)
	}
}

// publishImages sets the node pools of the member's profile to the images an operation
// brought, as the member's provider would.
func (e *fakeExecutor) publishImages(ctx context.Context, ns, member string, images []u.NodeImageVersion) {
	if len(images) == 0 {
		return
	}
	p := &u.MemberUpgradeProfile{}
	if e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: member}, p) != nil {
		return
	}
	for i := range p.Status.NodePools {
		for _, v := range images {
			if p.Status.NodePools[i].ImageFamily == v.Family {
				p.Status.NodePools[i].NodeImageVersion = v.Version
			}
		}
	}
	_ = e.c.Status().Update(ctx, p)
}

// addMembers makes member clusters with a provider, in the given group, each with its
// namespace and a MemberUpgradeProfile as a provider would publish it.
func addMembers(t *testing.T, group, region, latest string, names ...string) {
	t.Helper()
	for _, name := range names {
		addMemberWithoutProfile(t, group, name)
		publishProfile(t, name, region, latest)
	}
}

// addMemberWithoutProfile makes a member cluster with a provider, in the given group, and
// its namespace: a member whose provider has not published its profile yet.
func addMemberWithoutProfile(t *testing.T, group, name string) {
	t.Helper()
	ctx := context.Background()
	mc := &clusterv1beta1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Labels: map[string]string{u.GroupLabel: group},
			Annotations: map[string]string{u.ProviderAnnotation: "fake"},
		},
		Spec: clusterv1beta1.MemberClusterSpec{Identity: localfleet.AgentIdentity(name)},
	}
	must(t, hub.Create(ctx, mc))
	must(t, hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterv1beta1.NamespaceForMember(name)}}))
	t.Cleanup(func() {
		// Other tests' default-group runs must not pick this member up.
		mc := &clusterv1beta1.MemberCluster{}
		if hub.Get(ctx, client.ObjectKey{Name: name}, mc) == nil {
			delete(mc.Annotations, u.ProviderAnnotation)
			_ = hub.Update(ctx, mc)
		}
	})
}

// publishProfile writes the member's MemberUpgradeProfile as its provider would: one pool on
// an old image, in the region, whose newest image is latest.
func publishProfile(t *testing.T, name, region, latest string) {
	t.Helper()
	ctx := context.Background()
	p := &u.MemberUpgradeProfile{ObjectMeta: metav1.ObjectMeta{Namespace: clusterv1beta1.NamespaceForMember(name), Name: name}}
	must(t, hub.Create(ctx, p))
	p.Status = u.MemberUpgradeProfileStatus{
		Region: region, KubernetesVersion: "v1.35.8", AvailableKubernetesVersions: []string{"1.35.8", "1.36.1"},
		NodePools:        []u.NodePoolProfile{{Name: "user", ImageFamily: family, NodeImageVersion: "202510.01.0", KubernetesVersion: "v1.35.8"}},
		LatestNodeImages: map[string]string{family: latest},
	}
	must(t, hub.Status().Update(ctx, p))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newRun(name string, strategy *u.UpdateStrategySpec) *u.UpdateRun {
	return &u.UpdateRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: u.UpdateRunSpec{Strategy: strategy, State: u.RequestRunning, ManagedClusterUpdate: u.ManagedClusterUpdate{
			Upgrade: u.UpgradeSpec{Type: u.UpgradeNodeImageOnly},
		}},
	}
}

func get(g Gomega, name string) *u.UpdateRun {
	run := &u.UpdateRun{}
	g.Expect(hub.Get(context.Background(), client.ObjectKey{Name: name}, run)).To(Succeed())
	return run
}

func waitState(t *testing.T, name string, state u.State, within time.Duration) *u.UpdateRun {
	t.Helper()
	var run *u.UpdateRun
	NewWithT(t).Eventually(func(g Gomega) {
		run = get(g, name)
		g.Expect(run.Status.State).To(Equal(state), "run %s: %+v", name, run.Status.Status)
	}, within, 50*time.Millisecond).Should(Succeed())
	return run
}

func stage(run *u.UpdateRun, name string) *u.StageStatus {
	for i := range run.Status.Stages {
		if run.Status.Stages[i].Name == name {
			return &run.Status.Stages[i]
		}
	}
	return nil
}

func group(run *u.UpdateRun, name string) *u.GroupStatus {
	for i := range run.Status.Stages {
		for j := range run.Status.Stages[i].Groups {
			if run.Status.Stages[i].Groups[j].Name == name {
				return &run.Status.Stages[i].Groups[j]
			}
		}
	}
	return nil
}

func memberStatus(run *u.UpdateRun, name string) *u.MemberStatus {
	for i := range run.Status.Stages {
		for j := range run.Status.Stages[i].Groups {
			for k := range run.Status.Stages[i].Groups[j].Members {
				if m := &run.Status.Stages[i].Groups[j].Members[k]; m.Name == name {
					return m
				}
			}
		}
	}
	return nil
}

func memberState(run *u.UpdateRun, name string) u.State {
	if m := memberStatus(run, name); m != nil {
		return m.Status.State
	}
	return ""
}

func stages(specs ...u.StageConfig) *u.UpdateStrategySpec {
	return &u.UpdateStrategySpec{Stages: specs}
}

func groups(names ...string) []u.GroupConfig {
	var out []u.GroupConfig
	for _, n := range names {
		out = append(out, u.GroupConfig{Name: n})
	}
	return out
}

func TestOrderingGroupsOverlapAndWait(t *testing.T) {
	start(t)
	addMembers(t, "ord-a", "eastus", "202512.05.0", "ord-a1", "ord-a2")
	addMembers(t, "ord-b", "eastus", "202512.05.0", "ord-b1", "ord-b2")
	addMembers(t, "ord-c", "eastus", "202512.05.0", "ord-c1")
	run := newRun("ordering", stages(
		u.StageConfig{Name: "one", Groups: groups("ord-a", "ord-b"), AfterStageWaitInSeconds: 2},
		u.StageConfig{Name: "two", Groups: groups("ord-c")},
	))
	must(t, hub.Create(context.Background(), run))
	run = waitState(t, "ordering", u.StateCompleted, 30*time.Second)

	one, two := stage(run, "one"), stage(run, "two")
	a, b := group(run, "ord-a"), group(run, "ord-b")
	// Groups of a stage run side by side: their intervals overlap.
	if !a.Status.StartTime.Time.Before(b.Status.CompletedTime.Time) || !b.Status.StartTime.Time.Before(a.Status.CompletedTime.Time) {
		t.Fatalf("groups did not overlap: a %v–%v, b %v–%v", a.Status.StartTime, a.Status.CompletedTime, b.Status.StartTime, b.Status.CompletedTime)
	}
	// Members of a group run one at a time.
	a1, a2 := memberStatus(run, "ord-a1"), memberStatus(run, "ord-a2")
	if a2.Status.StartTime.Time.Before(a1.Status.CompletedTime.Time) {
		t.Fatalf("a2 started %v before a1 completed %v", a2.Status.StartTime, a1.Status.CompletedTime)
	}
	// No stage-two member starts before every stage-one group is terminal, nor before the wait ended.
	c1 := memberStatus(run, "ord-c1")
	for _, g := range one.Groups {
		if c1.Status.StartTime.Time.Before(g.Status.CompletedTime.Time) {
			t.Fatalf("c1 started %v before group %s completed %v", c1.Status.StartTime, g.Name, g.Status.CompletedTime)
		}
	}
	w := one.AfterStageWaitStatus
	if w == nil || w.Status.State != u.StateCompleted || w.WaitDurationInSeconds != 2 {
		t.Fatalf("wait %+v", w)
	}
	if waited := w.Status.CompletedTime.Sub(w.Status.StartTime.Time); waited < 2*time.Second {
		t.Fatalf("waited %s, want at least 2s", waited)
	}
	for _, g := range one.Groups {
		if w.Status.StartTime.Time.Before(g.Status.CompletedTime.Time) {
			t.Fatal("the wait began before the groups finished")
		}
	}
	if two.Status.StartTime.Time.Before(w.Status.CompletedTime.Time) {
		t.Fatalf("stage two started %v before the wait ended %v", two.Status.StartTime, w.Status.CompletedTime)
	}
	if run.Status.CompletedTime == nil || run.Status.StartTime == nil {
		t.Fatalf("run times %+v", run.Status.Status)
	}
	// Each operation is a MemberUpdate in the member's namespace, owned by the run.
	mu := &u.MemberUpdate{}
	must(t, hub.Get(context.Background(), client.ObjectKey{Namespace: "fleet-member-ord-c1", Name: "ordering"}, mu))
	if mu.Spec.UpdateRun != "ordering" || mu.Spec.Provider != "fake" || mu.Spec.NodeImageVersions[0].Version != "202512.05.0" || !metav1.IsControlledBy(mu, run) {
		t.Fatalf("MemberUpdate %+v", mu)
	}
}

func TestGatesAreObjectsToApprove(t *testing.T) {
	start(t)
	addMembers(t, "gate-g", "eastus", "202512.05.0", "gate-1")
	strategy := stages(u.StageConfig{
		Name: "s", BeforeGates: []u.GateConfig{{Type: u.GateTypeApproval, DisplayName: "check the dashboards"}},
		Groups: []u.GroupConfig{{Name: "gate-g", AfterGates: []u.GateConfig{{Type: u.GateTypeApproval}}}},
	})
	must(t, hub.Create(context.Background(), newRun("gates", strategy)))
	g := NewWithT(t)
	gate := &u.Gate{}
	g.Eventually(func() error {
		return hub.Get(context.Background(), client.ObjectKey{Name: "gates.s.before-1"}, gate)
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	g.Expect(gate.Spec.State).To(Equal(u.GatePending))
	g.Expect(gate.Spec.DisplayName).To(Equal("check the dashboards"))
	g.Expect(gate.Spec.Target).To(Equal(u.GateTarget{UpdateRun: "gates", Stage: "s", Timing: u.GateBefore}))
	// The run shows the gate waiting, and nothing starts while it is pending.
	g.Eventually(func(g Gomega) {
		run := get(g, "gates")
		g.Expect(stage(run, "s")).NotTo(BeNil())
		g.Expect(stage(run, "s").Gates).To(HaveLen(1))
		g.Expect(stage(run, "s").Gates[0].Status.State).To(Equal(u.StateRunning))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(memberState(get(g, "gates"), "gate-1")).To(Equal(u.StateNotStarted))
	}, time.Second, 100*time.Millisecond).Should(Succeed())
	approve(t, "gates.s.before-1")
	g.Eventually(func() error {
		return hub.Get(context.Background(), client.ObjectKey{Name: "gates.s.gate-g.after-1"}, gate)
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	// The Gate is made before the status that reaches it is written: wait for both.
	g.Eventually(func(g Gomega) {
		run := get(g, "gates")
		g.Expect(memberState(run, "gate-1")).To(Equal(u.StateCompleted))
		g.Expect(group(run, "gate-g")).NotTo(BeNil())
		g.Expect(group(run, "gate-g").Status.State).To(Equal(u.StateRunning))
		g.Expect(stage(run, "s").Gates).To(HaveLen(2))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	approve(t, "gates.s.gate-g.after-1")
	run := waitState(t, "gates", u.StateCompleted, 10*time.Second)
	g.Expect(stage(run, "s").Gates).To(HaveLen(2))
	for _, gs := range stage(run, "s").Gates {
		g.Expect(gs.Status.State).To(Equal(u.StateCompleted))
		g.Expect(gs.Status.CompletedTime).NotTo(BeNil())
	}
}

func approve(t *testing.T, name string) {
	t.Helper()
	gate := &u.Gate{}
	must(t, hub.Get(context.Background(), client.ObjectKey{Name: name}, gate))
	gate.Spec.State = u.GateCompleted
	must(t, hub.Update(context.Background(), gate))
}

func setSpec(t *testing.T, name string, f func(*u.UpdateRunSpec)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		run := &u.UpdateRun{}
		if err := hub.Get(context.Background(), client.ObjectKey{Name: name}, run); err != nil {
			return err
		}
		f(&run.Spec)
		return hub.Update(context.Background(), run)
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
}

func TestStopAndResume(t *testing.T) {
	start(t)
	addMembers(t, "stop-g", "eastus", "202512.05.0", "stop-1", "stop-2")
	exec.set(func() { exec.hold["stop-1"] = true })
	must(t, hub.Create(context.Background(), newRun("stop", stages(u.StageConfig{Name: "s", Groups: groups("stop-g")}))))
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		g.Expect(memberState(get(g, "stop"), "stop-1")).To(Equal(u.StateRunning))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	setSpec(t, "stop", func(s *u.UpdateRunSpec) { s.State = u.RequestStopped })
	run := waitState(t, "stop", u.StateStopping, 10*time.Second)
	g.Expect(stage(run, "s").Status.State).To(Equal(u.StateStopping))
	g.Expect(group(run, "stop-g").Status.State).To(Equal(u.StateStopping))
	// The running operation finishes; the next member does not start.
	exec.set(func() { exec.hold["stop-1"] = false })
	run = waitState(t, "stop", u.StateStopped, 10*time.Second)
	g.Expect(stage(run, "s").Status.State).To(Equal(u.StateStopped))
	g.Expect(group(run, "stop-g").Status.State).To(Equal(u.StateStopped))
	g.Expect(memberState(run, "stop-1")).To(Equal(u.StateCompleted))
	g.Consistently(func(g Gomega) {
		g.Expect(memberState(get(g, "stop"), "stop-2")).To(Equal(u.StateNotStarted))
	}, time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(exec.took()).NotTo(ContainElement("stop-2"))
	setSpec(t, "stop", func(s *u.UpdateRunSpec) { s.State = u.RequestRunning })
	run = waitState(t, "stop", u.StateCompleted, 10*time.Second)
	g.Expect(memberState(run, "stop-2")).To(Equal(u.StateCompleted))
}

func TestEveryKindOfSkip(t *testing.T) {
	start(t)
	addMembers(t, "skip-a", "eastus", "202512.05.0", "skip-a1", "skip-a2")
	addMembers(t, "skip-b", "eastus", "202512.05.0", "skip-b1")
	addMembers(t, "skip-c", "eastus", "202512.05.0", "skip-c1")
	addMembers(t, "skip-d", "eastus", "202512.05.0", "skip-d1")
	exec.set(func() { exec.hold["skip-a1"] = true })
	run := newRun("skips", stages(
		u.StageConfig{Name: "first", Groups: groups("skip-a", "skip-b"), AfterStageWaitInSeconds: 3600},
		u.StageConfig{Name: "second", Groups: groups("skip-c"), AfterStageWaitInSeconds: 3600},
		u.StageConfig{Name: "third", Groups: groups("skip-d")},
	))
	run.Spec.Skip = []u.SkipTarget{{Type: u.SkipGroup, Name: "skip-b"}}
	must(t, hub.Create(context.Background(), run))
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		run := get(g, "skips")
		g.Expect(memberState(run, "skip-a1")).To(Equal(u.StateRunning))
		g.Expect(group(run, "skip-b")).NotTo(BeNil())
		g.Expect(group(run, "skip-b").Status.State).To(Equal(u.StateSkipped))
		g.Expect(memberState(run, "skip-b1")).To(Equal(u.StateSkipped))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	// A running member skipped: Skipped at once, and its group moves on to the next member.
	setSpec(t, "skips", func(s *u.UpdateRunSpec) { s.Skip = append(s.Skip, u.SkipTarget{Type: u.SkipMember, Name: "skip-a1"}) })
	g.Eventually(func(g Gomega) {
		run := get(g, "skips")
		g.Expect(memberState(run, "skip-a1")).To(Equal(u.StateSkipped))
		g.Expect(memberState(run, "skip-a2")).To(Equal(u.StateCompleted))
		g.Expect(stage(run, "first").AfterStageWaitStatus).NotTo(BeNil())
		g.Expect(stage(run, "first").AfterStageWaitStatus.Status.State).To(Equal(u.StateRunning))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	// The wait of an hour, skipped.
	setSpec(t, "skips", func(s *u.UpdateRunSpec) {
		s.Skip = append(s.Skip, u.SkipTarget{Type: u.SkipAfterStageWait, Name: "first"}, u.SkipTarget{Type: u.SkipStage, Name: "second"})
	})
	run = waitState(t, "skips", u.StateCompleted, 10*time.Second)
	g.Expect(stage(run, "first").AfterStageWaitStatus.Status.State).To(Equal(u.StateSkipped))
	g.Expect(stage(run, "first").Status.State).To(Equal(u.StateCompleted))
	// A skipped stage skips its groups, members and wait.
	g.Expect(stage(run, "second").Status.State).To(Equal(u.StateSkipped))
	g.Expect(stage(run, "second").AfterStageWaitStatus.Status.State).To(Equal(u.StateSkipped))
	g.Expect(memberState(run, "skip-c1")).To(Equal(u.StateSkipped))
	g.Expect(memberState(run, "skip-d1")).To(Equal(u.StateCompleted))
	g.Expect(exec.took()).NotTo(ContainElements("skip-b1", "skip-c1"))
	exec.set(func() { exec.hold["skip-a1"] = false })
}

func TestFailureMarksGroupStageAndRun(t *testing.T) {
	start(t)
	addMembers(t, "fail-g", "eastus", "202512.05.0", "fail-1", "fail-2")
	addMembers(t, "fail-h", "eastus", "202512.05.0", "fail-3")
	exec.set(func() { exec.fail["fail-1"] = "node aks-user-0: the image did not boot" })
	must(t, hub.Create(context.Background(), newRun("failure", stages(
		u.StageConfig{Name: "s", Groups: groups("fail-g")}, u.StageConfig{Name: "t", Groups: groups("fail-h")}))))
	run := waitState(t, "failure", u.StateFailed, 10*time.Second)
	g := NewWithT(t)
	g.Expect(memberState(run, "fail-1")).To(Equal(u.StateFailed))
	g.Expect(group(run, "fail-g").Status.State).To(Equal(u.StateFailed))
	g.Expect(stage(run, "s").Status.State).To(Equal(u.StateFailed))
	g.Expect(run.Status.Error).To(ContainSubstring("member fail-1 failed: node aks-user-0: the image did not boot"))
	g.Consistently(func(g Gomega) {
		run := get(g, "failure")
		g.Expect(memberState(run, "fail-2")).To(Equal(u.StateNotStarted))
		g.Expect(stage(run, "t").Status.State).To(Equal(u.StateNotStarted))
	}, time.Second, 100*time.Millisecond).Should(Succeed())
}

func TestPendingAndSystemSkip(t *testing.T) {
	start(t)
	addMembers(t, "pend-g", "eastus", "202512.05.0", "pend-1", "pend-2", "pend-3")
	ctx := context.Background()
	// pend-1's region does not offer 1.36.1; pend-2 already runs it.
	editProfile(t, "pend-1", func(p *u.MemberUpgradeProfileStatus) { p.AvailableKubernetesVersions = []string{"1.35.8"} })
	editProfile(t, "pend-2", func(p *u.MemberUpgradeProfileStatus) { p.KubernetesVersion = "v1.36.1" })
	run := newRun("pending", stages(u.StageConfig{Name: "s", Groups: groups("pend-g")}))
	run.Spec.ManagedClusterUpdate.Upgrade = u.UpgradeSpec{Type: u.UpgradeControlPlaneOnly, KubernetesVersion: "1.36.1"}
	must(t, hub.Create(ctx, run))
	run = waitState(t, "pending", u.StateCompleted, 10*time.Second)
	g := NewWithT(t)
	g.Expect(memberState(run, "pend-1")).To(Equal(u.StatePending))
	g.Expect(memberStatus(run, "pend-1").Status.Error).To(ContainSubstring("Kubernetes 1.36.1 is not offered in region eastus"))
	g.Expect(memberState(run, "pend-2")).To(Equal(u.StateSkipped))
	g.Expect(memberStatus(run, "pend-2").Status.Error).To(ContainSubstring("already at the target"))
	g.Expect(memberState(run, "pend-3")).To(Equal(u.StateCompleted))
	// Neither the Pending nor the system-skipped member reached a provider.
	g.Expect(exec.took()).NotTo(ContainElements("pend-1", "pend-2"))
	for _, name := range []string{"pend-1", "pend-2"} {
		err := hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: "pending"}, &u.MemberUpdate{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s has a MemberUpdate", name)
	}
}

func editProfile(t *testing.T, name string, f func(*u.MemberUpgradeProfileStatus)) {
	t.Helper()
	p := &u.MemberUpgradeProfile{}
	must(t, hub.Get(context.Background(), client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: name}, p))
	f(&p.Status)
	must(t, hub.Status().Update(context.Background(), p))
}

func TestConsistentAcrossTwoRegions(t *testing.T) {
	start(t)
	addMembers(t, "cons-g", "eastus", "202512.05.0", "cons-east")
	addMembers(t, "cons-g", "westus", "202512.01.0", "cons-west")
	run := newRun("consistent", stages(u.StageConfig{Name: "s", Groups: []u.GroupConfig{{Name: "cons-g", MaxConcurrency: ptr.To(intstr.FromString("100%"))}}}))
	run.Spec.ManagedClusterUpdate.NodeImageSelection = &u.NodeImageSelection{Type: u.NodeImageConsistent}
	must(t, hub.Create(context.Background(), run))
	run = waitState(t, "consistent", u.StateCompleted, 10*time.Second)
	g := NewWithT(t)
	g.Expect(run.Status.NodeImageSelection).NotTo(BeNil())
	g.Expect(run.Status.NodeImageSelection.SelectedNodeImageVersions).To(Equal([]u.NodeImageVersion{{Family: family, Version: "202512.01.0"}}))
	for _, name := range []string{"cons-east", "cons-west"} {
		mu := &u.MemberUpdate{}
		must(t, hub.Get(context.Background(), client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: "consistent"}, mu))
		g.Expect(mu.Spec.NodeImageVersions).To(Equal([]u.NodeImageVersion{{Family: family, Version: "202512.01.0"}}), name)
	}
}

// The held-out race: a two-stage Consistent run created in the same instant as the fleet,
// before any member's provider has published its profile, and the profiles then arriving
// one by one, westeurope's (the region with the oldest newest image) last. The run must not
// pick an image from the part of the fleet it can see: it waits, naming the members still
// missing and touching none, then picks the image all three regions offer, and completes
// with every member on it.
func TestConsistentRunCreatedWithTheFleet(t *testing.T) {
	start(t)
	ctx := context.Background()
	g := NewWithT(t)
	addMemberWithoutProfile(t, "race-canary", "race-east")
	addMemberWithoutProfile(t, "race-rest", "race-west")
	addMemberWithoutProfile(t, "race-rest", "race-eu")
	run := newRun("race", stages(
		u.StageConfig{Name: "canary", Groups: groups("race-canary")},
		u.StageConfig{Name: "rest", Groups: []u.GroupConfig{{Name: "race-rest", MaxConcurrency: ptr.To(intstr.FromString("100%"))}}},
	))
	run.Spec.ManagedClusterUpdate.NodeImageSelection = &u.NodeImageSelection{Type: u.NodeImageConsistent}
	must(t, hub.Create(ctx, run))

	waitsFor := func(missing ...string) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			run := get(g, "race")
			c := meta.FindStatusCondition(run.Status.Conditions, u.NodeImagesSelectedCondition)
			g.Expect(c).NotTo(BeNil(), "status %+v", run.Status)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(u.WaitingForUpgradeProfilesReason))
			for _, name := range []string{"race-east", "race-west", "race-eu"} {
				if slices.Contains(missing, name) {
					g.Expect(c.Message).To(ContainSubstring(name+" (no MemberUpgradeProfile yet)"), "missing %s", name)
				} else {
					g.Expect(c.Message).NotTo(ContainSubstring(name), "%s has published", name)
				}
			}
			g.Expect(run.Status.State).To(Equal(u.StateNotStarted))
			g.Expect(run.Status.NodeImageSelection).To(BeNil())
		}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
		var ops u.MemberUpdateList
		must(t, hub.List(ctx, &ops, client.MatchingLabels{u.RunLabel: "race"}))
		g.Expect(ops.Items).To(BeEmpty(), "a member was touched before every profile was known")
	}
	waitsFor("race-east", "race-west", "race-eu")
	publishProfile(t, "race-east", "eastus", "202512.05.0")
	waitsFor("race-west", "race-eu")
	publishProfile(t, "race-west", "westus", "202512.01.0")
	waitsFor("race-eu")
	publishProfile(t, "race-eu", "westeurope", "202511.20.0")

	run = waitState(t, "race", u.StateCompleted, 30*time.Second)
	want := []u.NodeImageVersion{{Family: family, Version: "202511.20.0"}}
	g.Expect(run.Status.NodeImageSelection.SelectedNodeImageVersions).To(Equal(want))
	c := meta.FindStatusCondition(run.Status.Conditions, u.NodeImagesSelectedCondition)
	g.Expect(c).NotTo(BeNil())
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	for _, name := range []string{"race-east", "race-west", "race-eu"} {
		g.Expect(memberState(run, name)).To(Equal(u.StateCompleted), name)
		mu := &u.MemberUpdate{}
		must(t, hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: "race"}, mu))
		g.Expect(mu.Spec.NodeImageVersions).To(Equal(want), name)
		p := &u.MemberUpgradeProfile{}
		must(t, hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(name), Name: name}, p))
		g.Expect(p.Status.NodePools[0].NodeImageVersion).To(Equal("202511.20.0"), name)
	}
}

func TestStrategySnapshotAndDefaultGroup(t *testing.T) {
	start(t)
	ctx := context.Background()
	addMembers(t, "snap-g", "eastus", "202512.05.0", "snap-1")
	addMembers(t, "snap-h", "eastus", "202512.05.0", "snap-2")
	strategy := &u.UpdateStrategy{ObjectMeta: metav1.ObjectMeta{Name: "snap"}, Spec: *stages(u.StageConfig{Name: "only", Groups: groups("snap-g")})}
	must(t, hub.Create(ctx, strategy))
	run := newRun("snapshot", nil)
	run.Spec.UpdateStrategyName = "snap"
	run.Spec.State = u.RequestNotStarted
	must(t, hub.Create(ctx, run))
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		g.Expect(get(g, "snapshot").Status.StrategySnapshot).NotTo(BeNil())
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	// The strategy changes after the copy: the run keeps its copy.
	must(t, hub.Get(ctx, client.ObjectKey{Name: "snap"}, strategy))
	strategy.Spec.Stages = append(strategy.Spec.Stages, u.StageConfig{Name: "later", Groups: groups("snap-h")})
	must(t, hub.Update(ctx, strategy))
	setSpec(t, "snapshot", func(s *u.UpdateRunSpec) { s.State = u.RequestRunning })
	run = waitState(t, "snapshot", u.StateCompleted, 10*time.Second)
	g.Expect(run.Status.Stages).To(HaveLen(1))
	g.Expect(run.Status.StrategySnapshot.Stages).To(HaveLen(1))
	g.Expect(exec.took()).NotTo(ContainElement("snap-2"))

	// A run naming a missing strategy says so, and starts once it exists.
	missing := newRun("missing-strategy", nil)
	missing.Spec.UpdateStrategyName = "not-yet"
	must(t, hub.Create(ctx, missing))
	g.Eventually(func(g Gomega) {
		g.Expect(get(g, "missing-strategy").Status.Error).To(ContainSubstring(`UpdateStrategy "not-yet" not found`))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	must(t, hub.Create(ctx, &u.UpdateStrategy{ObjectMeta: metav1.ObjectMeta{Name: "not-yet"}, Spec: *stages(u.StageConfig{Name: "x", Groups: groups("snap-h")})}))
	waitState(t, "missing-strategy", u.StateCompleted, 10*time.Second)

	// Without a strategy: one stage, one group of every member with a provider.
	run = newRun("default-group", nil)
	must(t, hub.Create(ctx, run))
	run = waitState(t, "default-group", u.StateCompleted, 20*time.Second)
	g.Expect(run.Status.Stages).To(HaveLen(1))
	g.Expect(run.Status.Stages[0].Groups).To(HaveLen(1))
	var names []string
	for _, m := range run.Status.Stages[0].Groups[0].Members {
		names = append(names, m.Name)
	}
	g.Expect(names).To(Equal([]string{"snap-1", "snap-2"}))
}

func TestValidationAndImmutability(t *testing.T) {
	start(t)
	ctx := context.Background()
	addMembers(t, "imm-g", "eastus", "202512.05.0", "imm-1")
	g := NewWithT(t)
	refused := func(obj client.Object, parts ...string) {
		t.Helper()
		err := hub.Create(ctx, obj)
		g.Expect(err).To(HaveOccurred(), "accepted %s", obj.GetName())
		for _, p := range parts {
			g.Expect(err.Error()).To(ContainSubstring(p))
		}
	}
	both := newRun("both", stages(u.StageConfig{Name: "s", Groups: groups("g")}))
	both.Spec.UpdateStrategyName = "x"
	refused(both, "name a strategy or give one inline, not both")
	noVersion := newRun("no-version", nil)
	noVersion.Spec.ManagedClusterUpdate.Upgrade.Type = u.UpgradeFull
	refused(noVersion, "kubernetesVersion is required for Full and ControlPlaneOnly")
	imageWithVersion := newRun("image-version", nil)
	imageWithVersion.Spec.ManagedClusterUpdate.Upgrade.KubernetesVersion = "1.36.1"
	refused(imageWithVersion, "kubernetesVersion is forbidden for NodeImageOnly")
	refused(newRun("dup", stages(u.StageConfig{Name: "a", Groups: groups("g")}, u.StageConfig{Name: "b", Groups: groups("g")})),
		"a group may appear in only one stage")
	refused(newRun("Bad_Name", nil), "metadata.name must be a DNS label")
	refused(newRun("bad-stage", stages(u.StageConfig{Name: "Stage One", Groups: groups("g")})), "must be a DNS label")
	refused(&u.UpdateStrategy{ObjectMeta: metav1.ObjectMeta{Name: "dup-strategy"}, Spec: *stages(
		u.StageConfig{Name: "a", Groups: groups("g")}, u.StageConfig{Name: "b", Groups: groups("g")})}, "a group may appear in only one stage")
	badConcurrency := newRun("bad-concurrency", stages(u.StageConfig{Name: "s", Groups: []u.GroupConfig{{Name: "g", MaxConcurrency: ptr.To(intstr.FromString("150%"))}}}))
	refused(badConcurrency, "percentage from 1% to 100%")
	negativeWait := newRun("negative-wait", nil)
	negativeWait.Spec.ManagedClusterUpdate.NodeImageSelection = &u.NodeImageSelection{Type: u.NodeImageConsistent,
		ProfileWaitTimeout: &metav1.Duration{Duration: -5 * time.Minute}}
	refused(negativeWait, "profileWaitTimeout must not be negative")

	// Before start, the run may change; after, managedClusterUpdate and the strategy may not.
	run := newRun("immutable", stages(u.StageConfig{Name: "s", Groups: groups("imm-g")}))
	run.Spec.State = u.RequestNotStarted
	must(t, hub.Create(ctx, run))
	setSpec(t, "immutable", func(s *u.UpdateRunSpec) {
		s.ManagedClusterUpdate.NodeImageSelection = &u.NodeImageSelection{Type: u.NodeImageConsistent}
	})
	setSpec(t, "immutable", func(s *u.UpdateRunSpec) { s.State = u.RequestRunning })
	// update changes the spec, trying again when the orchestrator wrote the status meanwhile.
	update := func(f func(*u.UpdateRunSpec)) error {
		for {
			run := &u.UpdateRun{}
			must(t, hub.Get(ctx, client.ObjectKey{Name: "immutable"}, run))
			f(&run.Spec)
			if err := hub.Update(ctx, run); !apierrors.IsConflict(err) {
				return err
			}
		}
	}
	err := update(func(s *u.UpdateRunSpec) { s.ManagedClusterUpdate.NodeImageSelection.Type = u.NodeImageLatest })
	g.Expect(err).To(MatchError(ContainSubstring("spec.managedClusterUpdate is immutable once the run has started")))
	err = update(func(s *u.UpdateRunSpec) { s.Strategy.Stages[0].AfterStageWaitInSeconds = 5 })
	g.Expect(err).To(MatchError(ContainSubstring("immutable once the run has started")))
	err = update(func(s *u.UpdateRunSpec) { s.State = u.RequestNotStarted })
	g.Expect(err).To(MatchError(ContainSubstring("cannot go back to NotStarted")))
	// Stop, skip and resume stay possible.
	g.Expect(update(func(s *u.UpdateRunSpec) { s.State = u.RequestStopped })).To(Succeed())
	g.Expect(update(func(s *u.UpdateRunSpec) { s.Skip = []u.SkipTarget{{Type: u.SkipMember, Name: "imm-1"}} })).To(Succeed())

	// A gate's target is fixed, and an approved gate stays approved.
	gate := &u.Gate{ObjectMeta: metav1.ObjectMeta{Name: "manual.gate"}, Spec: u.GateSpec{Target: u.GateTarget{UpdateRun: "r", Stage: "s", Timing: u.GateBefore}}}
	must(t, hub.Create(ctx, gate))
	gate.Spec.Target.Stage = "other"
	g.Expect(hub.Update(ctx, gate)).To(MatchError(ContainSubstring("spec.target and spec.type are immutable")))
	must(t, hub.Get(ctx, client.ObjectKey{Name: "manual.gate"}, gate))
	gate.Spec.State = u.GateCompleted
	must(t, hub.Update(ctx, gate))
	gate.Spec.State = u.GatePending
	g.Expect(hub.Update(ctx, gate)).To(MatchError(ContainSubstring("cannot be reopened")))
}
