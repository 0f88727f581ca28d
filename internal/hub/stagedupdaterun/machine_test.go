package stagedupdaterun

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

var t0 = time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)

const snap = "web-1-snapshot"

// world is a run and the facts around it; step advances the run once and carries the plan
// out on the facts as the reconciler would.
type world struct {
	run   *placementv1beta1.ClusterStagedUpdateRun
	facts Facts
	last  Plan
}

func newWorld(strategy placementv1beta1.UpdateStrategySpec, members map[string]map[string]string) *world {
	f := Facts{
		Now: t0,
		Placement: &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: placementv1beta1.ClusterResourcePlacementSpec{Strategy: placementv1beta1.RolloutStrategy{Type: placementv1beta1.ExternalRolloutStrategyType}}},
		Strategy:            &strategy,
		PolicySnapshotIndex: "0", ResourceSnapshotIndex: "1", ResourceSnapshot: snap,
		MemberLabels: members, Bindings: map[string]*Binding{}, Approvals: map[string]Approval{},
	}
	for name := range members {
		f.Bindings[name] = &Binding{Name: "web-" + name, State: placementv1beta1.BindingStateScheduled, Generation: 1}
		f.Picked = append(f.Picked, name)
	}
	run := &placementv1beta1.ClusterStagedUpdateRun{ObjectMeta: metav1.ObjectMeta{Name: "run", Generation: 1},
		Spec: placementv1beta1.UpdateRunSpec{PlacementName: "web", StagedUpdateStrategyName: "s", State: placementv1beta1.UpdateRunStateRun}}
	return &world{run: run, facts: f}
}

func (w *world) step(t *testing.T) Plan {
	t.Helper()
	p := Advance(w.run, w.facts)
	w.run.Status = p.Status
	for _, c := range p.Bind {
		b := w.facts.Bindings[c]
		if b.State != placementv1beta1.BindingStateBound || b.Snapshot != snap {
			b.State, b.Snapshot = placementv1beta1.BindingStateBound, snap
			b.Generation++
		}
	}
	for _, c := range p.Delete {
		w.facts.Bindings[c].Deleting = true
	}
	for _, a := range p.Approvals {
		if _, ok := w.facts.Approvals[a.Name]; !ok {
			w.facts.Approvals[a.Name] = Approval{}
		}
	}
	w.last = p
	return p
}

// unpick makes the scheduler drop a member: its binding is Unscheduled.
func (w *world) unpick(c string) {
	w.facts.Bindings[c].State = placementv1beta1.BindingStateUnscheduled
	w.facts.Picked = slices.DeleteFunc(w.facts.Picked, func(p string) bool { return p == c })
}

// available makes the member agent report the binding's current generation available.
func (w *world) available(c string) {
	b := w.facts.Bindings[c]
	b.Conditions = []metav1.Condition{{Type: string(placementv1beta1.ResourcesAppliedConditionType), Status: metav1.ConditionTrue, ObservedGeneration: b.Generation},
		{Type: string(placementv1beta1.ResourcesAvailableConditionType), Status: metav1.ConditionTrue, ObservedGeneration: b.Generation}}
}

func (w *world) cond(typ string) *metav1.Condition {
	return meta.FindStatusCondition(w.run.Status.Conditions, typ)
}

func stage(name string, sel map[string]string, tasks ...placementv1beta1.StageTask) placementv1beta1.StageConfig {
	return placementv1beta1.StageConfig{Name: name, LabelSelector: &metav1.LabelSelector{MatchLabels: sel}, AfterStageTasks: tasks}
}

func TestInitializeRefusesWhatCannotRun(t *testing.T) {
	two := placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{stage("canary", map[string]string{"env": "canary"}), stage("prod", map[string]string{"env": "prod"})}}
	members := map[string]map[string]string{"m1": {"env": "canary"}, "m2": {"env": "prod"}}
	for _, c := range []struct {
		name   string
		change func(*world)
		want   string
	}{
		{"no placement", func(w *world) { w.facts.Placement = nil }, `ClusterResourcePlacement "web" not found`},
		{"a rolling placement", func(w *world) {
			w.facts.Placement.GetPlacementSpec().Strategy.Type = placementv1beta1.RollingUpdateRolloutStrategyType
		},
			`spec.strategy.type "RollingUpdate": a staged update run rolls out only placements with spec.strategy.type External`},
		{"no strategy", func(w *world) { w.facts.Strategy = nil }, `ClusterStagedUpdateStrategy "s" not found`},
		{"not scheduled", func(w *world) { w.facts.PolicySnapshotIndex = "" }, "has not been scheduled yet"},
		{"scheduling not recorded", func(w *world) { w.facts.Picked = nil }, "has not been scheduled yet"},
		{"a picked member not bound yet", func(w *world) { delete(w.facts.Bindings, "m2") }, "waiting for the scheduler to bind the members it picked: m2"},
		{"no snapshot", func(w *world) {
			w.facts.ResourceSnapshot, w.facts.ResourceSnapshotError = "", "no resource snapshot of index 1"
		}, "no resource snapshot of index 1"},
		{"a member in no stage", func(w *world) { w.facts.MemberLabels["m2"] = map[string]string{"env": "dev"} }, "that no stage of ClusterStagedUpdateStrategy \"s\" selects: m2"},
		{"a member in two stages", func(w *world) { w.facts.Strategy.Stages[1].LabelSelector = nil }, "member m1 is selected by stages canary and prod"},
		{"a bad selector", func(w *world) {
			w.facts.Strategy.Stages[0].LabelSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Near"}}}
		}, "stages[0] (canary).labelSelector"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(*two.DeepCopy(), map[string]map[string]string{"m1": members["m1"], "m2": members["m2"]})
			c.change(w)
			p := w.step(t)
			init := w.cond(placementv1beta1.UpdateRunInitializedConditionType)
			if init == nil || init.Status != metav1.ConditionFalse || init.Reason != placementv1beta1.UpdateRunInitializeFailedReason || !strings.Contains(init.Message, c.want) {
				t.Fatalf("Initialized = %+v, want False with %q", init, c.want)
			}
			if len(p.Bind)+len(p.Delete)+len(p.Approvals) > 0 || len(p.Status.StagesStatus) > 0 {
				t.Fatalf("a run that cannot be initialized planned %+v", p)
			}
		})
	}
}

func TestInitializeWorksTheStagesOut(t *testing.T) {
	canary := stage("canary", map[string]string{"env": "canary"})
	canary.SortingLabelKey = ptr.To("order")
	canary.BeforeStageTasks = []placementv1beta1.StageTask{{Type: placementv1beta1.StageTaskTypeApproval}}
	w := newWorld(placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{canary, stage("prod", map[string]string{"env": "prod"})}},
		map[string]map[string]string{"c1": {"env": "canary", "order": "10"}, "c2": {"env": "canary", "order": "9"}, "p1": {"env": "prod"}, "gone": {"env": "prod"}})
	w.unpick("gone")
	w.run.Spec.State = placementv1beta1.UpdateRunStateInitialize
	p := w.step(t)
	if c := w.cond(placementv1beta1.UpdateRunInitializedConditionType); c == nil || c.Status != metav1.ConditionTrue || c.Reason != placementv1beta1.UpdateRunInitializeSucceededReason {
		t.Fatalf("Initialized = %+v", c)
	}
	st := p.Status
	var got [][]string
	for _, s := range st.StagesStatus {
		var names []string
		for _, c := range s.Clusters {
			names = append(names, c.ClusterName)
		}
		got = append(got, names)
	}
	if !slices.Equal(got[0], []string{"c2", "c1"}) || !slices.Equal(got[1], []string{"p1"}) {
		t.Fatalf("stages %v, want [c2 c1] (by order label) then [p1]", got)
	}
	if st.DeletionStageStatus == nil || st.DeletionStageStatus.StageName != placementv1beta1.UpdateRunDeleteStageName ||
		len(st.DeletionStageStatus.Clusters) != 1 || st.DeletionStageStatus.Clusters[0].ClusterName != "gone" {
		t.Fatalf("deletion stage %+v, want the unscheduled member", st.DeletionStageStatus)
	}
	if st.PolicyObservedClusterCount != 3 || st.ResourceSnapshotIndexUsed != "1" || st.PolicySnapshotIndexUsed != "0" {
		t.Fatalf("counts and indexes %d %q %q", st.PolicyObservedClusterCount, st.ResourceSnapshotIndexUsed, st.PolicySnapshotIndexUsed)
	}
	if mc := st.UpdateStrategySnapshot.Stages[1].MaxConcurrency; mc == nil || mc.IntValue() != 1 {
		t.Fatalf("maxConcurrency of the copy = %v, want the default 1", mc)
	}
	if n := st.StagesStatus[0].BeforeStageTaskStatus[0].ApprovalRequestName; n != "run-before-canary" {
		t.Fatalf("approval request name %q", n)
	}
	if st.AppliedStrategy == nil || st.AppliedStrategy.Type != placementv1beta1.ApplyStrategyTypeClientSideApply {
		t.Fatalf("applied strategy %+v, want the defaulted one", st.AppliedStrategy)
	}
	if len(p.Bind)+len(p.Delete)+len(p.Approvals) > 0 {
		t.Fatalf("an Initialize run planned writes: %+v", p)
	}
	if w.cond(placementv1beta1.UpdateRunProgressingConditionType) != nil {
		t.Fatalf("an Initialize run reports Progressing")
	}
}

// A run with a canary stage that waits for approval after it, then a prod stage of two at a
// time: members go in order, the approval holds prod back, and the run succeeds at the end.
func TestRunGoesStageByStage(t *testing.T) {
	prod := stage("prod", map[string]string{"env": "prod"})
	prod.MaxConcurrency = ptr.To(intstr.FromInt32(2))
	w := newWorld(placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{
		stage("canary", map[string]string{"env": "canary"}, placementv1beta1.StageTask{Type: placementv1beta1.StageTaskTypeApproval}), prod}},
		map[string]map[string]string{"c": {"env": "canary"}, "p1": {"env": "prod"}, "p2": {"env": "prod"}, "p3": {"env": "prod"}})

	if p := w.step(t); !slices.Equal(p.Bind, []string{"c"}) {
		t.Fatalf("first step binds %v, want the canary", p.Bind)
	}
	if p := w.step(t); len(p.Bind) != 0 {
		t.Fatalf("binds %v while the canary is not available", p.Bind)
	}
	w.facts.Now = t0.Add(time.Minute)
	w.available("c")
	p := w.step(t)
	if len(p.Bind) != 0 || len(p.Approvals) != 1 || p.Approvals[0].Name != "run-after-canary" || p.Approvals[0].TaskType != placementv1beta1.AfterStageTaskLabelValue {
		t.Fatalf("after the canary: binds %v, approvals %+v; want only the approval request", p.Bind, p.Approvals)
	}
	if c := w.cond(placementv1beta1.UpdateRunProgressingConditionType); c.Status != metav1.ConditionFalse || c.Reason != placementv1beta1.UpdateRunWaitingReason ||
		!strings.Contains(c.Message, "run-after-canary") {
		t.Fatalf("Progressing while waiting = %+v", c)
	}
	if p := w.step(t); len(p.Bind) != 0 || len(p.Approvals) != 0 {
		t.Fatalf("unapproved: planned %+v", p)
	}
	w.facts.Approvals["run-after-canary"] = Approval{Approved: true}
	w.facts.Now = t0.Add(2 * time.Minute)
	p = w.step(t)
	if !slices.Equal(p.Accept, []string{"run-after-canary"}) || !slices.Equal(p.Bind, []string{"p1", "p2"}) {
		t.Fatalf("approved: accept %v bind %v, want the request accepted and two prod members bound", p.Accept, p.Bind)
	}
	canary := p.Status.StagesStatus[0]
	if canary.EndTime == nil || !canary.EndTime.Time.Equal(t0.Add(2*time.Minute)) || !meta.IsStatusConditionTrue(canary.Conditions, placementv1beta1.StageSucceededConditionType) {
		t.Fatalf("canary stage %+v, want it succeeded when approved", canary)
	}
	w.available("p1")
	if p := w.step(t); !slices.Equal(p.Bind, []string{"p3"}) {
		t.Fatalf("after p1: binds %v, want p3 (p2 still updating)", p.Bind)
	}
	w.available("p2")
	w.available("p3")
	w.step(t)
	if c := w.cond(placementv1beta1.UpdateRunSucceededConditionType); c == nil || c.Status != metav1.ConditionTrue || c.Reason != placementv1beta1.UpdateRunSucceededReason {
		t.Fatalf("Succeeded = %+v", c)
	}
	prodStart := w.run.Status.StagesStatus[1].StartTime
	if prodStart == nil || prodStart.Before(canary.EndTime) {
		t.Fatalf("prod started at %v, before the canary stage ended at %v", prodStart, canary.EndTime)
	}
}

func TestTimedWaitAndBeforeApproval(t *testing.T) {
	second := stage("two", map[string]string{"env": "b"})
	second.BeforeStageTasks = []placementv1beta1.StageTask{{Type: placementv1beta1.StageTaskTypeApproval}}
	w := newWorld(placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{
		stage("one", map[string]string{"env": "a"}, placementv1beta1.StageTask{Type: placementv1beta1.StageTaskTypeTimedWait, WaitTime: &metav1.Duration{Duration: time.Minute}}),
		second}}, map[string]map[string]string{"a": {"env": "a"}, "b": {"env": "b"}})
	w.step(t)
	w.available("a")
	w.facts.Now = t0.Add(10 * time.Second)
	p := w.step(t)
	if p.RequeueAfter != time.Minute || len(p.Bind) != 0 {
		t.Fatalf("wait started: requeue %v binds %v, want a minute and nothing", p.RequeueAfter, p.Bind)
	}
	w.facts.Now = t0.Add(40 * time.Second)
	if p := w.step(t); p.RequeueAfter != 30*time.Second {
		t.Fatalf("mid-wait requeue %v, want 30s", p.RequeueAfter)
	}
	w.facts.Now = t0.Add(71 * time.Second)
	p = w.step(t)
	if len(p.Bind) != 0 || len(p.Approvals) != 1 || p.Approvals[0].Name != "run-before-two" || p.Approvals[0].TaskType != placementv1beta1.BeforeStageTaskLabelValue {
		t.Fatalf("after the wait: binds %v approvals %+v, want the before-stage request only", p.Bind, p.Approvals)
	}
	if ts := p.Status.StagesStatus[0].AfterStageTaskStatus[0]; !meta.IsStatusConditionTrue(ts.Conditions, placementv1beta1.StageTaskWaitTimeElapsedConditionType) {
		t.Fatalf("the wait task %+v, want WaitTimeElapsed", ts)
	}
	if s := p.Status.StagesStatus[1]; s.StartTime != nil {
		t.Fatalf("stage two started before its approval")
	}
	w.facts.Approvals["run-before-two"] = Approval{Approved: true}
	if p := w.step(t); !slices.Equal(p.Bind, []string{"b"}) {
		t.Fatalf("approved: binds %v, want b", p.Bind)
	}
}

func TestFailedApplyStopsTheRun(t *testing.T) {
	w := newWorld(placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{
		stage("one", map[string]string{"env": "a"}), stage("two", map[string]string{"env": "b"})}},
		map[string]map[string]string{"a": {"env": "a"}, "b": {"env": "b"}})
	w.step(t)
	b := w.facts.Bindings["a"]
	b.Conditions = []metav1.Condition{{Type: string(placementv1beta1.ResourcesAppliedConditionType), Status: metav1.ConditionFalse,
		Reason: "ManifestsNotApplied", Message: "configmap x: forbidden", ObservedGeneration: b.Generation}}
	w.step(t)
	c := w.cond(placementv1beta1.UpdateRunSucceededConditionType)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != placementv1beta1.UpdateRunFailedReason ||
		!strings.Contains(c.Message, "member a: Applied is False (ManifestsNotApplied): configmap x: forbidden") {
		t.Fatalf("Succeeded = %+v, want the failed apply named", c)
	}
	for i := 0; i < 3; i++ {
		if p := w.step(t); len(p.Bind) != 0 {
			t.Fatalf("a failed run bound %v", p.Bind)
		}
	}
	// A stale condition (of the generation before the run bound it) is not a failure.
	w2 := newWorld(placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{stage("one", nil)}}, map[string]map[string]string{"a": {}})
	w2.step(t)
	b2 := w2.facts.Bindings["a"]
	b2.Conditions = []metav1.Condition{{Type: string(placementv1beta1.ResourcesAppliedConditionType), Status: metav1.ConditionFalse, ObservedGeneration: b2.Generation - 1}}
	w2.step(t)
	if w2.cond(placementv1beta1.UpdateRunSucceededConditionType) != nil {
		t.Fatalf("a stale Applied=False failed the run")
	}
}

func TestStopAndResume(t *testing.T) {
	w := newWorld(placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{stage("one", nil)}},
		map[string]map[string]string{"a": {}, "b": {}})
	w.step(t)
	w.run.Spec.State = placementv1beta1.UpdateRunStateStop
	w.available("a")
	p := w.step(t)
	if len(p.Bind) != 0 {
		t.Fatalf("a stopped run bound %v", p.Bind)
	}
	if c := w.cond(placementv1beta1.UpdateRunProgressingConditionType); c.Status != metav1.ConditionFalse || c.Reason != placementv1beta1.UpdateRunStoppedReason {
		t.Fatalf("Progressing when stopped = %+v", c)
	}
	if !meta.IsStatusConditionTrue(p.Status.StagesStatus[0].Clusters[0].Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType) {
		t.Fatalf("the member updating when the run stopped was not seen to finish")
	}
	w.run.Spec.State = placementv1beta1.UpdateRunStateRun
	if p := w.step(t); !slices.Equal(p.Bind, []string{"b"}) {
		t.Fatalf("resumed: binds %v, want b", p.Bind)
	}
	if c := w.cond(placementv1beta1.UpdateRunProgressingConditionType); c.Status != metav1.ConditionTrue {
		t.Fatalf("Progressing when resumed = %+v", c)
	}
}

func TestDeletionStageRemovesUnpickedMembers(t *testing.T) {
	w := newWorld(placementv1beta1.UpdateStrategySpec{Stages: []placementv1beta1.StageConfig{stage("one", nil)}},
		map[string]map[string]string{"a": {}, "old": {}})
	w.unpick("old")
	w.step(t)
	w.available("a")
	p := w.step(t)
	if !slices.Equal(p.Delete, []string{"old"}) {
		t.Fatalf("deletes %v, want old", p.Delete)
	}
	if w.cond(placementv1beta1.UpdateRunSucceededConditionType) != nil {
		t.Fatalf("succeeded before the binding was gone")
	}
	if p := w.step(t); len(p.Delete) != 0 {
		t.Fatalf("deleted again %v while the binding is going", p.Delete)
	}
	delete(w.facts.Bindings, "old")
	w.step(t)
	if c := w.cond(placementv1beta1.UpdateRunSucceededConditionType); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Succeeded = %+v", c)
	}
	if !meta.IsStatusConditionTrue(w.run.Status.DeletionStageStatus.Conditions, placementv1beta1.StageSucceededConditionType) {
		t.Fatalf("deletion stage not succeeded")
	}
}
