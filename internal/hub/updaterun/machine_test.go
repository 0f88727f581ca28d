package updaterun

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

// sim drives the machine as the reconciler would: it keeps the run's status, and turns the
// plan's operations and gates into facts, as if the API server had them.
type sim struct {
	t    *testing.T
	run  *u.UpdateRun
	f    Facts
	plan Plan
}

const family = "Ubuntu"

func profile(region, image, kube string, latest string, versions ...string) *u.MemberUpgradeProfileStatus {
	return &u.MemberUpgradeProfileStatus{
		Region: region, KubernetesVersion: kube, AvailableKubernetesVersions: versions,
		NodePools:        []u.NodePoolProfile{{Name: "pool", ImageFamily: family, NodeImageVersion: image, KubernetesVersion: kube}},
		LatestNodeImages: map[string]string{family: latest},
	}
}

func newSim(t *testing.T, strategy *u.UpdateStrategySpec, members ...*MemberFacts) *sim {
	t.Helper()
	s := &sim{t: t, run: &u.UpdateRun{
		ObjectMeta: metav1.ObjectMeta{Name: "run", Generation: 1},
		Spec: u.UpdateRunSpec{Strategy: strategy, State: u.RequestNotStarted, ManagedClusterUpdate: u.ManagedClusterUpdate{
			Upgrade: u.UpgradeSpec{Type: u.UpgradeNodeImageOnly},
		}},
	}, f: Facts{
		Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Members: map[string]*MemberFacts{},
		Operations: map[string]*u.MemberUpdateStatus{}, Gates: map[string]u.GateState{},
	}}
	for _, m := range members {
		s.f.Members[m.Name] = m
	}
	return s
}

func member(name, group string) *MemberFacts {
	return &MemberFacts{Name: name, Group: group, Provider: "local", Profile: profile("eastus", "1.0", "1.35.0", "2.0", "1.35.0", "1.36.0")}
}

func (s *sim) step() *sim {
	s.t.Helper()
	s.plan = Advance(s.run, s.f)
	s.run.Status = s.plan.Status
	for _, op := range s.plan.Operations {
		if s.f.Operations[op.Member] == nil {
			s.f.Operations[op.Member] = &u.MemberUpdateStatus{}
		}
	}
	for _, g := range s.plan.Gates {
		if _, ok := s.f.Gates[g.Name]; !ok {
			s.f.Gates[g.Name] = u.GatePending
		}
	}
	for _, g := range s.plan.SkipGates {
		s.f.Gates[g] = u.GateSkipped
	}
	return s
}

func (s *sim) start() *sim { s.run.Spec.State = u.RequestRunning; return s.step() }

func (s *sim) complete(names ...string) *sim {
	for _, n := range names {
		now := metav1.NewMicroTime(s.f.Now)
		s.f.Operations[n] = &u.MemberUpdateStatus{State: u.StateCompleted, CompletedTime: &now, Message: "done"}
	}
	return s.step()
}

func (s *sim) later(d time.Duration) *sim { s.f.Now = s.f.Now.Add(d); return s }

func (s *sim) stage(name string) *u.StageStatus {
	for i := range s.run.Status.Stages {
		if s.run.Status.Stages[i].Name == name {
			return &s.run.Status.Stages[i]
		}
	}
	s.t.Fatalf("no stage %s", name)
	return nil
}

func (s *sim) group(name string) *u.GroupStatus {
	for i := range s.run.Status.Stages {
		for j := range s.run.Status.Stages[i].Groups {
			if g := &s.run.Status.Stages[i].Groups[j]; g.Name == name {
				return g
			}
		}
	}
	s.t.Fatalf("no group %s", name)
	return nil
}

func (s *sim) member(name string) *u.MemberStatus {
	for i := range s.run.Status.Stages {
		for j := range s.run.Status.Stages[i].Groups {
			for k := range s.run.Status.Stages[i].Groups[j].Members {
				if m := &s.run.Status.Stages[i].Groups[j].Members[k]; m.Name == name {
					return m
				}
			}
		}
	}
	s.t.Fatalf("no member %s", name)
	return nil
}

func (s *sim) expect(what string, got, want u.State) {
	s.t.Helper()
	if got != want {
		s.t.Fatalf("%s: state %s, want %s (run status %+v)", what, got, want, s.run.Status.Status)
	}
}

func (s *sim) ops() []string {
	var names []string
	for _, op := range s.plan.Operations {
		names = append(names, op.Member)
	}
	return names
}

func twoStages() *u.UpdateStrategySpec {
	return &u.UpdateStrategySpec{Stages: []u.StageConfig{
		{Name: "test", Groups: []u.GroupConfig{{Name: "canary"}}, AfterStageWaitInSeconds: 60},
		{Name: "prod", Groups: []u.GroupConfig{{Name: "east"}, {Name: "west"}}},
	}}
}

func fleet() []*MemberFacts {
	return []*MemberFacts{member("c1", "canary"), member("e1", "east"), member("e2", "east"), member("w1", "west"), member("x", "")}
}

func TestSnapshotBeforeStart(t *testing.T) {
	s := newSim(t, twoStages(), fleet()...).step()
	s.expect("run", s.run.Status.State, u.StateNotStarted)
	if s.run.Status.StrategySnapshot == nil || len(s.run.Status.Stages) != 2 || len(s.stage("prod").Groups) != 2 {
		t.Fatalf("no snapshot: %+v", s.run.Status)
	}
	if len(s.plan.Operations) != 0 || s.run.Status.StartTime != nil {
		t.Fatal("a run that was not asked to start started")
	}
	// Stopped before it ever ran: still NotStarted.
	s.run.Spec.State = u.RequestStopped
	s.step().expect("run", s.run.Status.State, u.StateNotStarted)
}

func TestNamedStrategyIsCopiedOnceAndMissingOneIsReported(t *testing.T) {
	s := newSim(t, nil, fleet()...)
	s.run.Spec.UpdateStrategyName = "plan"
	s.f.StrategyError = `UpdateStrategy "plan" not found: create it, or fix spec.updateStrategyName`
	s.start()
	s.expect("run", s.run.Status.State, u.StateNotStarted)
	if !strings.Contains(s.run.Status.Error, "spec.updateStrategyName") {
		t.Fatalf("error %q does not name the field", s.run.Status.Error)
	}
	s.run.Spec.State = u.RequestNotStarted
	s.f.StrategyError, s.f.Strategy = "", twoStages()
	s.step().expect("run", s.run.Status.State, u.StateNotStarted)
	// The strategy changes after the copy, then the run starts (a new generation): the
	// run keeps its copy.
	s.f.Strategy = &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "edited", Groups: []u.GroupConfig{{Name: "g"}}}}}
	s.run.Generation = 2
	s.start().expect("run", s.run.Status.State, u.StateRunning)
	if s.run.Status.StrategySnapshot.Stages[0].Name != "test" || s.run.Status.UpdateStrategyName != "plan" {
		t.Fatalf("the snapshot changed at start: %+v", s.run.Status.StrategySnapshot)
	}
	// Edits of the UpdateStrategy after the copy do not reach the run.
	s.f.Strategy = &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "other", Groups: []u.GroupConfig{{Name: "g"}}}}}
	s.step()
	if s.run.Status.StrategySnapshot.Stages[0].Name != "test" {
		t.Fatalf("the snapshot changed: %+v", s.run.Status.StrategySnapshot)
	}
}

func TestSpecChangeBeforeStartRetakesSnapshot(t *testing.T) {
	s := newSim(t, twoStages(), fleet()...).step()
	s.run.Spec.Strategy = &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "only", Groups: []u.GroupConfig{{Name: "east"}}}}}
	s.run.Generation = 2
	s.step()
	if len(s.run.Status.Stages) != 1 || s.run.Status.Stages[0].Name != "only" || s.run.Status.ObservedGeneration != 2 {
		t.Fatalf("snapshot not retaken: %+v", s.run.Status)
	}
}

func TestDefaultStrategyHasOneGroupOfEveryMember(t *testing.T) {
	s := newSim(t, nil, fleet()...).start()
	g := s.group(DefaultGroup)
	if len(g.Members) != 5 {
		t.Fatalf("default group has %d members, want every member with a provider (5)", len(g.Members))
	}
	if got := s.ops(); len(got) != 1 || got[0] != "c1" {
		t.Fatalf("operations %v, want the first member only (maxConcurrency 1)", got)
	}
}

func TestStagesInOrderGroupsInParallelAndWait(t *testing.T) {
	s := newSim(t, twoStages(), fleet()...).start()
	s.expect("run", s.run.Status.State, u.StateRunning)
	s.expect("test", s.stage("test").Status.State, u.StateRunning)
	s.expect("prod", s.stage("prod").Status.State, u.StateNotStarted)
	s.expect("c1", s.member("c1").Status.State, u.StateRunning)
	if s.member("c1").Operation != "run" {
		t.Fatalf("operation name %q", s.member("c1").Operation)
	}
	// A member without a group label is in no group of a strategy.
	for _, st := range s.run.Status.Stages {
		for _, g := range st.Groups {
			for _, m := range g.Members {
				if m.Name == "x" {
					t.Fatal("member x has no group label but is in a group")
				}
			}
		}
	}
	s.later(time.Second).complete("c1")
	s.expect("c1", s.member("c1").Status.State, u.StateCompleted)
	s.expect("canary", s.group("canary").Status.State, u.StateCompleted)
	w := s.stage("test").AfterStageWaitStatus
	if w == nil || w.Status.State != u.StateRunning || w.WaitDurationInSeconds != 60 {
		t.Fatalf("wait: %+v", w)
	}
	if s.plan.RequeueAfter != time.Minute {
		t.Fatalf("requeue after %s, want the wait's 1m", s.plan.RequeueAfter)
	}
	s.expect("prod", s.stage("prod").Status.State, u.StateNotStarted)
	s.later(30 * time.Second).step()
	s.expect("prod during the wait", s.stage("prod").Status.State, u.StateNotStarted)
	if s.plan.RequeueAfter != 30*time.Second {
		t.Fatalf("requeue after %s, want 30s", s.plan.RequeueAfter)
	}
	s.later(30 * time.Second).step()
	s.expect("wait", s.stage("test").AfterStageWaitStatus.Status.State, u.StateCompleted)
	s.expect("test", s.stage("test").Status.State, u.StateCompleted)
	s.expect("prod", s.stage("prod").Status.State, u.StateRunning)
	// Both groups of prod start a member in the same step.
	if got := s.ops(); len(got) != 2 || got[0] != "e1" || got[1] != "w1" {
		t.Fatalf("operations %v, want e1 and w1 at once", got)
	}
	s.later(time.Second).complete("e1")
	s.expect("e2", s.member("e2").Status.State, u.StateRunning)
	s.expect("west", s.group("west").Status.State, u.StateRunning)
	s.later(time.Second).complete("e2", "w1")
	s.expect("run", s.run.Status.State, u.StateCompleted)
	if s.run.Status.CompletedTime == nil || !s.run.Status.CompletedTime.After(s.run.Status.StartTime.Time) {
		t.Fatalf("run times: %+v", s.run.Status.Status)
	}
	for _, st := range s.run.Status.Stages {
		if st.Status.StartTime == nil || st.Status.CompletedTime == nil {
			t.Fatalf("stage %s lacks a time: %+v", st.Name, st.Status)
		}
	}
	if !s.stage("prod").Status.StartTime.After(s.stage("test").AfterStageWaitStatus.Status.StartTime.Add(59 * time.Second)) {
		t.Fatal("prod began before the wait ended")
	}
}

func TestMaxConcurrency(t *testing.T) {
	cases := []struct {
		group, stage *intstr.IntOrString
		n, want      int
	}{
		{nil, nil, 10, 1},
		{ref(intstr.FromInt32(3)), nil, 10, 3},
		{nil, ref(intstr.FromInt32(2)), 10, 2},
		{ref(intstr.FromInt32(4)), ref(intstr.FromInt32(2)), 10, 4},
		{ref(intstr.FromString("50%")), nil, 10, 5},
		{ref(intstr.FromString("25%")), nil, 10, 2},
		{ref(intstr.FromString("1%")), nil, 10, 1},
		{ref(intstr.FromString("100%")), nil, 3, 3},
	}
	for _, c := range cases {
		if got := MaxConcurrency(c.group, c.stage, c.n); got != c.want {
			t.Errorf("MaxConcurrency(%v, %v, %d) = %d, want %d", c.group, c.stage, c.n, got, c.want)
		}
	}
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "s", Groups: []u.GroupConfig{{Name: "east", MaxConcurrency: ref(intstr.FromString("100%"))}}}}}
	s := newSim(t, strategy, fleet()...).start()
	if got := s.ops(); len(got) != 2 {
		t.Fatalf("operations %v, want both east members at once", got)
	}
}

func ref[T any](v T) *T { return &v }

func TestGates(t *testing.T) {
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{{
		Name: "s", BeforeGates: []u.GateConfig{{Type: u.GateTypeApproval, DisplayName: "go?"}},
		AfterGates: []u.GateConfig{{Type: u.GateTypeApproval}},
		Groups:     []u.GroupConfig{{Name: "east", BeforeGates: []u.GateConfig{{}}, AfterGates: []u.GateConfig{{}}}},
	}}}
	s := newSim(t, strategy, fleet()...).start()
	before := GateName("run", "s", "", u.GateBefore, 0)
	if before != "run.s.before-1" || len(s.plan.Gates) != 1 || s.plan.Gates[0].Name != before || s.plan.Gates[0].DisplayName != "go?" {
		t.Fatalf("gates %+v", s.plan.Gates)
	}
	s.expect("stage", s.stage("s").Status.State, u.StateRunning)
	s.expect("gate", s.stage("s").Gates[0].Status.State, u.StateRunning)
	s.expect("east", s.group("east").Status.State, u.StateNotStarted)
	s.step() // nothing moves while the gate is pending
	s.expect("east", s.group("east").Status.State, u.StateNotStarted)

	s.f.Gates[before] = u.GateCompleted
	s.step()
	s.expect("gate", s.stage("s").Gates[0].Status.State, u.StateCompleted)
	groupBefore := GateName("run", "s", "east", u.GateBefore, 0)
	if s.plan.Gates[0].Name != groupBefore || s.plan.Gates[0].Target.Group != "east" {
		t.Fatalf("gates %+v", s.plan.Gates)
	}
	s.expect("east", s.group("east").Status.State, u.StateRunning)
	if len(s.ops()) != 0 {
		t.Fatal("a member started before its group's gate")
	}
	s.f.Gates[groupBefore] = u.GateSkipped // a gate skipped by hand also lets the run pass
	s.step()
	s.complete("e1")
	s.complete("e2")
	groupAfter := GateName("run", "s", "east", u.GateAfter, 0)
	if len(s.plan.Gates) != 1 || s.plan.Gates[0].Name != groupAfter {
		t.Fatalf("gates %+v", s.plan.Gates)
	}
	s.expect("east", s.group("east").Status.State, u.StateRunning)
	s.f.Gates[groupAfter] = u.GateCompleted
	s.step()
	s.expect("east", s.group("east").Status.State, u.StateCompleted)
	stageAfter := GateName("run", "s", "", u.GateAfter, 0)
	s.expect("stage", s.stage("s").Status.State, u.StateRunning)
	s.f.Gates[stageAfter] = u.GateCompleted
	s.step()
	s.expect("run", s.run.Status.State, u.StateCompleted)
	if len(s.stage("s").Gates) != 4 {
		t.Fatalf("gate statuses %+v", s.stage("s").Gates)
	}
}

func TestStopAndResume(t *testing.T) {
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "s", Groups: []u.GroupConfig{{Name: "east"}, {Name: "west"}}}}}
	s := newSim(t, strategy, fleet()...).start()
	s.complete("w1") // west is done; east runs e1
	s.run.Spec.State = u.RequestStopped
	s.step()
	s.expect("run", s.run.Status.State, u.StateStopping)
	s.expect("stage", s.stage("s").Status.State, u.StateStopping)
	s.expect("east", s.group("east").Status.State, u.StateStopping)
	s.expect("west", s.group("west").Status.State, u.StateCompleted)
	s.expect("e1", s.member("e1").Status.State, u.StateRunning)
	s.complete("e1")
	s.expect("e1", s.member("e1").Status.State, u.StateCompleted)
	s.expect("e2 (nothing new starts)", s.member("e2").Status.State, u.StateNotStarted)
	s.expect("east", s.group("east").Status.State, u.StateStopped)
	s.expect("stage", s.stage("s").Status.State, u.StateStopped)
	s.expect("run", s.run.Status.State, u.StateStopped)
	if len(s.ops()) != 0 {
		t.Fatalf("a stopped run started %v", s.ops())
	}
	s.run.Spec.State = u.RequestRunning
	s.step()
	s.expect("run", s.run.Status.State, u.StateRunning)
	s.expect("east", s.group("east").Status.State, u.StateRunning)
	s.expect("e2 resumes", s.member("e2").Status.State, u.StateRunning)
	s.complete("e2")
	s.expect("run", s.run.Status.State, u.StateCompleted)
}

func TestStopWithNothingRunningIsStoppedAtOnceAndStopsTheWait(t *testing.T) {
	s := newSim(t, twoStages(), fleet()...).start()
	s.complete("c1")
	s.run.Spec.State = u.RequestStopped
	s.step()
	s.expect("run", s.run.Status.State, u.StateStopped)
	s.expect("wait", s.stage("test").AfterStageWaitStatus.Status.State, u.StateStopped)
	s.expect("stage", s.stage("test").Status.State, u.StateStopped)
	s.run.Spec.State = u.RequestRunning
	s.later(time.Minute).step()
	s.expect("wait", s.stage("test").AfterStageWaitStatus.Status.State, u.StateCompleted)
	s.expect("prod", s.stage("prod").Status.State, u.StateRunning)
}

func TestFailure(t *testing.T) {
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{
		{Name: "s", Groups: []u.GroupConfig{{Name: "east"}, {Name: "west"}}},
		{Name: "t", Groups: []u.GroupConfig{{Name: "canary"}}},
	}}
	s := newSim(t, strategy, fleet()...).start()
	s.f.Operations["e1"] = &u.MemberUpdateStatus{State: u.StateFailed, Message: "node aks-user-0: boom"}
	s.step()
	s.expect("e1", s.member("e1").Status.State, u.StateFailed)
	s.expect("east", s.group("east").Status.State, u.StateFailed)
	s.expect("stage", s.stage("s").Status.State, u.StateFailed)
	s.expect("run", s.run.Status.State, u.StateFailed)
	for _, msg := range []string{s.member("e1").Status.Error, s.group("east").Status.Error, s.stage("s").Status.Error, s.run.Status.Error} {
		if !strings.Contains(msg, "boom") {
			t.Fatalf("failure message %q lacks the reason", msg)
		}
	}
	if !strings.Contains(s.run.Status.Error, "member e1") {
		t.Fatalf("run error %q does not name the member", s.run.Status.Error)
	}
	// The other group's running member finishes; nothing else starts.
	s.expect("west", s.group("west").Status.State, u.StateStopping)
	s.complete("w1")
	s.expect("w1", s.member("w1").Status.State, u.StateCompleted)
	s.expect("west", s.group("west").Status.State, u.StateStopped)
	s.expect("e2", s.member("e2").Status.State, u.StateNotStarted)
	s.expect("t", s.stage("t").Status.State, u.StateNotStarted)
	s.expect("run", s.run.Status.State, u.StateFailed)
}

func TestSystemSkipAndPending(t *testing.T) {
	atTarget := member("e1", "east")
	atTarget.Profile.NodePools[0].NodeImageVersion = "2.0"
	noProfile := member("e2", "east")
	noProfile.Profile = nil
	older := member("e3", "east")
	older.Profile.Region, older.Profile.LatestNodeImages = "westus", map[string]string{family: "1.5"}
	normal := member("e4", "east")
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "s", Groups: []u.GroupConfig{{Name: "east"}}}}}
	s := newSim(t, strategy, atTarget, noProfile, older, normal).start()
	s.expect("e1", s.member("e1").Status.State, u.StateSkipped)
	if !strings.Contains(s.member("e1").Status.Error, "already at the target") {
		t.Fatalf("e1: %+v", s.member("e1").Status)
	}
	s.expect("e2", s.member("e2").Status.State, u.StatePending)
	if !strings.Contains(s.member("e2").Status.Error, "MemberUpgradeProfile") {
		t.Fatalf("e2: %+v", s.member("e2").Status)
	}
	// Latest: e3's region's newest image is 1.5, so e3 gets 1.5, not 2.0.
	s.expect("e3", s.member("e3").Status.State, u.StateRunning)
	if op := s.plan.Operations[0]; op.Member != "e3" || op.Spec.NodeImageVersions[0].Version != "1.5" {
		t.Fatalf("operations %+v", s.plan.Operations)
	}
	for _, name := range []string{"e1", "e2"} {
		for _, op := range s.plan.Operations {
			if op.Member == name {
				t.Fatalf("%s got an operation", name)
			}
		}
	}
	s.complete("e3")
	s.complete("e4")
	s.expect("run", s.run.Status.State, u.StateCompleted)
}

func TestPendingWhenKubernetesVersionNotOffered(t *testing.T) {
	m := member("e1", "east")
	m.Profile.AvailableKubernetesVersions = []string{"1.35.0"}
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "s", Groups: []u.GroupConfig{{Name: "east"}}}}}
	s := newSim(t, strategy, m, member("e2", "east"))
	s.run.Spec.ManagedClusterUpdate.Upgrade = u.UpgradeSpec{Type: u.UpgradeControlPlaneOnly, KubernetesVersion: "1.36.0"}
	s.start()
	s.expect("e1", s.member("e1").Status.State, u.StatePending)
	if !strings.Contains(s.member("e1").Status.Error, "Kubernetes 1.36.0 is not offered in region eastus") {
		t.Fatalf("e1: %+v", s.member("e1").Status)
	}
	s.expect("e2 (the group moves on)", s.member("e2").Status.State, u.StateRunning)
	if op := s.plan.Operations[0]; op.Spec.Type != u.UpgradeControlPlaneOnly || op.Spec.KubernetesVersion != "1.36.0" || len(op.Spec.NodeImageVersions) != 0 {
		t.Fatalf("operation %+v", op)
	}
	// A member gone since the start is Pending too.
	delete(s.f.Members, "e2")
	s.run.Status.Stages[0].Groups[0].Members[1].Status.State = u.StateNotStarted
	s.step()
	s.expect("e2", s.member("e2").Status.State, u.StatePending)
}

func TestConsistentSelection(t *testing.T) {
	east, west := member("e1", "east"), member("w1", "east")
	west.Profile.Region, west.Profile.LatestNodeImages = "westus", map[string]string{family: "1.9.3", "Other": "5"}
	east.Profile.LatestNodeImages = map[string]string{family: "1.10.0"}
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "s", Groups: []u.GroupConfig{{Name: "east", MaxConcurrency: ref(intstr.FromInt32(2))}}}}}
	s := newSim(t, strategy, east, west)
	s.run.Spec.ManagedClusterUpdate.NodeImageSelection = &u.NodeImageSelection{Type: u.NodeImageConsistent}
	s.start()
	sel := s.run.Status.NodeImageSelection
	// Only the families the members' pools use count: "Other" is offered in westus, but no
	// pool runs it.
	if sel == nil || len(sel.SelectedNodeImageVersions) != 1 || sel.SelectedNodeImageVersions[0] != (u.NodeImageVersion{Family: family, Version: "1.9.3"}) {
		t.Fatalf("selection %+v, want only %s 1.9.3 (the older of 1.10.0 and 1.9.3, compared numerically)", sel, family)
	}
	for _, op := range s.plan.Operations {
		if op.Spec.NodeImageVersions[0].Version != "1.9.3" {
			t.Fatalf("%s gets %+v", op.Member, op.Spec.NodeImageVersions)
		}
	}
	// Computed once: a later catalog change does not move it.
	east.Profile.LatestNodeImages[family] = "1.0"
	s.step()
	if s.run.Status.NodeImageSelection.SelectedNodeImageVersions[0].Version != "1.9.3" {
		t.Fatal("the selection changed after start")
	}
}

func TestSkips(t *testing.T) {
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{
		{Name: "a", Groups: []u.GroupConfig{{Name: "canary"}, {Name: "west"}}, AfterStageWaitInSeconds: 600},
		{Name: "b", Groups: []u.GroupConfig{{Name: "east"}}, AfterStageWaitInSeconds: 600, BeforeGates: []u.GateConfig{{}}},
	}}
	s := newSim(t, strategy, fleet()...).start()
	// Skip a running member: it is Skipped at once and its group moves on.
	s.run.Spec.Skip = []u.SkipTarget{{Type: u.SkipMember, Name: "c1"}}
	s.step()
	s.expect("c1", s.member("c1").Status.State, u.StateSkipped)
	if !strings.Contains(s.member("c1").Status.Error, "finishes") {
		t.Fatalf("c1: %+v", s.member("c1").Status)
	}
	s.expect("canary", s.group("canary").Status.State, u.StateCompleted)
	// Skip a group with a running member.
	s.run.Spec.Skip = append(s.run.Spec.Skip, u.SkipTarget{Type: u.SkipGroup, Name: "west"})
	s.step()
	s.expect("west", s.group("west").Status.State, u.StateSkipped)
	s.expect("w1", s.member("w1").Status.State, u.StateSkipped)
	s.expect("wait a", s.stage("a").AfterStageWaitStatus.Status.State, u.StateRunning)
	// Skip the wait.
	s.run.Spec.Skip = append(s.run.Spec.Skip, u.SkipTarget{Type: u.SkipAfterStageWait, Name: "a"})
	s.step()
	s.expect("wait a", s.stage("a").AfterStageWaitStatus.Status.State, u.StateSkipped)
	s.expect("a", s.stage("a").Status.State, u.StateCompleted)
	s.expect("b", s.stage("b").Status.State, u.StateRunning)
	gate := GateName("run", "b", "", u.GateBefore, 0)
	s.expect("gate", s.stage("b").Gates[0].Status.State, u.StateRunning)
	// Skip a stage waiting on its gate: its groups, members, gate and wait are Skipped.
	s.run.Spec.Skip = append(s.run.Spec.Skip, u.SkipTarget{Type: u.SkipStage, Name: "b"})
	s.step()
	s.expect("b", s.stage("b").Status.State, u.StateSkipped)
	s.expect("east", s.group("east").Status.State, u.StateSkipped)
	s.expect("e1", s.member("e1").Status.State, u.StateSkipped)
	s.expect("gate", s.stage("b").Gates[0].Status.State, u.StateSkipped)
	s.expect("wait b", s.stage("b").AfterStageWaitStatus.Status.State, u.StateSkipped)
	if len(s.plan.SkipGates) != 1 || s.plan.SkipGates[0] != gate {
		t.Fatalf("gates to skip %v", s.plan.SkipGates)
	}
	s.expect("run", s.run.Status.State, u.StateCompleted)
	for _, st := range s.run.Status.Stages {
		for _, g := range st.Groups {
			for _, m := range g.Members {
				if m.Status.StartTime == nil || m.Status.CompletedTime == nil {
					t.Fatalf("member %s lacks a time: %+v", m.Name, m.Status)
				}
			}
		}
	}
}

func TestSkipBeforeStartAppliesAtStart(t *testing.T) {
	s := newSim(t, twoStages(), fleet()...)
	s.run.Spec.Skip = []u.SkipTarget{{Type: u.SkipStage, Name: "test"}}
	s.start()
	s.expect("test", s.stage("test").Status.State, u.StateSkipped)
	s.expect("wait", s.stage("test").AfterStageWaitStatus.Status.State, u.StateSkipped)
	s.expect("prod", s.stage("prod").Status.State, u.StateRunning)
	if got := s.ops(); len(got) != 2 {
		t.Fatalf("operations %v, want prod's e1 and w1", got)
	}
}

func TestUnknownSkipTargetsAreReported(t *testing.T) {
	s := newSim(t, twoStages(), fleet()...)
	s.run.Spec.Skip = []u.SkipTarget{
		{Type: u.SkipStage, Name: "test"},
		{Type: u.SkipMember, Name: "no-such-member"},
		{Type: u.SkipGroup, Name: "test"}, // a stage's name, not a group's
	}
	s.start()
	s.expect("test", s.stage("test").Status.State, u.StateSkipped)
	got := s.run.Status.UnknownSkipTargets
	if len(got) != 2 || got[0].Name != "no-such-member" || got[1].Type != u.SkipGroup {
		t.Fatalf("unknownSkipTargets %+v, want the member and the group", got)
	}
	// Fixing the name clears the report.
	s.run.Spec.Skip = s.run.Spec.Skip[:1]
	s.step()
	if got := s.run.Status.UnknownSkipTargets; len(got) != 0 {
		t.Fatalf("unknownSkipTargets %+v after the fix, want none", got)
	}
}

func TestLostOperationIsMadeAgain(t *testing.T) {
	s := newSim(t, twoStages(), fleet()...).start()
	delete(s.f.Operations, "c1")
	s.step()
	if got := s.ops(); len(got) != 1 || got[0] != "c1" {
		t.Fatalf("operations %v, want c1 again", got)
	}
	s.expect("c1", s.member("c1").Status.State, u.StateRunning)
}

func TestCompareVersionsAndTargetSpec(t *testing.T) {
	s := newSim(t, nil, fleet()...)
	s.run.Spec.ManagedClusterUpdate.Upgrade = u.UpgradeSpec{Type: u.UpgradeFull, KubernetesVersion: "v1.36.0"}
	s.start()
	op := s.plan.Operations[0]
	if op.Spec.KubernetesVersion != "1.36.0" || op.Spec.Provider != "local" || op.Spec.UpdateRun != "run" || op.Spec.NodeImageVersions[0].Version != "2.0" {
		t.Fatalf("operation %+v", op)
	}
	// Full at the version but not at the image still upgrades.
	m := member("m", "")
	m.Profile.KubernetesVersion, m.Profile.NodePools[0].KubernetesVersion = "1.36.0", "v1.36.0"
	if tg := memberTarget(s.run, nil, m); tg.atTarget || tg.pending != "" {
		t.Fatalf("target %+v", tg)
	}
	m.Profile.NodePools[0].NodeImageVersion = "2.0"
	if tg := memberTarget(s.run, nil, m); !tg.atTarget {
		t.Fatalf("target %+v, want at target", tg)
	}
}

func TestMemberGoneWhileRunningIsPending(t *testing.T) {
	s := newSim(t, twoStages(), fleet()...).start()
	delete(s.f.Members, "c1")
	delete(s.f.Operations, "c1")
	s.step()
	s.expect("c1", s.member("c1").Status.State, u.StatePending)
	s.expect("canary (moves on)", s.group("canary").Status.State, u.StateCompleted)
	if len(s.plan.Operations) != 0 {
		t.Fatalf("operations %v for a member that is gone", s.ops())
	}
}
