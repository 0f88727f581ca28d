// Package stagedupdaterun is the hub's controller of ClusterStagedUpdateRuns: it rolls one
// resource snapshot of an External placement out stage by stage, binding each member's
// binding in turn, waiting on timers and ClusterApprovalRequests between stages, and
// removing the placement from members it no longer picks at the end.
package stagedupdaterun

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/rollout"
	"github.com/flotilla-dev/flotilla/internal/stages"
)

// This file is the run's state machine: a pure function from a run and the facts around it
// to the run's next status and the writes the reconciler must make.

// Binding is what the machine knows of one binding of the placement.
type Binding struct {
	Name       string
	State      placementv1beta1.BindingState
	Snapshot   string
	Generation int64
	Deleting   bool
	Conditions []metav1.Condition
}

// Approval is what the machine knows of one of the run's approval requests.
type Approval struct {
	Approved bool
}

// Facts are what the reconciler read for one step.
type Facts struct {
	Now time.Time
	// Placement is the run's placement, or nil when there is none.
	Placement placementv1beta1.PlacementObj
	// Strategy is the run's strategy, or nil when there is none. Read only until the run is
	// initialized; after that the run follows its copy.
	Strategy *placementv1beta1.UpdateStrategySpec
	// PolicySnapshotIndex is the index of the placement's latest policy snapshot, or "".
	PolicySnapshotIndex string
	// Picked are the members the scheduler picked for that snapshot, nil until it has
	// scheduled it.
	Picked []string
	// ResourceSnapshotIndex and ResourceSnapshot are the index the run rolls out and its
	// master snapshot's name; ResourceSnapshot is "" when it cannot be had, and
	// ResourceSnapshotError then says why.
	ResourceSnapshotIndex string
	ResourceSnapshot      string
	ResourceSnapshotError string
	// MemberLabels are the members' labels, by member name.
	MemberLabels map[string]map[string]string
	// Bindings are the placement's bindings, by target cluster.
	Bindings map[string]*Binding
	// Overrides are the override snapshots that apply to the snapshot, by cluster (read only
	// while the run is initialized).
	Overrides map[string]rollout.Overrides
	// Approvals are the run's approval requests, by name.
	Approvals map[string]Approval
}

// ApprovalToEnsure is an approval request the reconciler must make sure exists.
type ApprovalToEnsure struct {
	Name, Stage, TaskType string
}

// Plan is the machine's answer.
type Plan struct {
	Status placementv1beta1.UpdateRunStatus
	// Bind are the clusters whose bindings to point at the run's snapshot.
	Bind []string
	// Delete are the clusters whose bindings to delete.
	Delete []string
	// Approvals are approval requests to create when missing.
	Approvals []ApprovalToEnsure
	// Accept are approval requests whose approval the run has taken in.
	Accept []string
	// RequeueAfter is when to look again without an event, or 0.
	RequeueAfter time.Duration
}

// Advance computes the run's next status from its current one and the facts.
func Advance(run placementv1beta1.UpdateRunObj, f Facts) Plan {
	m := &machine{run: run, f: f}
	m.plan.Status = *run.GetUpdateRunStatus().DeepCopy()
	m.st = &m.plan.Status
	if !m.initialized() {
		m.initialize()
		if !m.initialized() {
			return m.plan
		}
	}
	if run.GetUpdateRunSpec().State == placementv1beta1.UpdateRunStateInitialize || run.GetUpdateRunSpec().State == "" || m.finished() {
		return m.plan
	}
	m.execute()
	return m.plan
}

type machine struct {
	run  placementv1beta1.UpdateRunObj
	f    Facts
	plan Plan
	st   *placementv1beta1.UpdateRunStatus
	// waitingFor says what the run waits on, for its Progressing condition.
	waitingFor string
}

func (m *machine) cond(list *[]metav1.Condition, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(list, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: m.run.GetGeneration(), LastTransitionTime: metav1.NewTime(m.f.Now)})
}

func (m *machine) initialized() bool {
	return meta.IsStatusConditionTrue(m.st.Conditions, placementv1beta1.UpdateRunInitializedConditionType)
}

func (m *machine) finished() bool {
	return meta.FindStatusCondition(m.st.Conditions, placementv1beta1.UpdateRunSucceededConditionType) != nil
}

// initialize works out the stages. A run that cannot be initialized says why and is tried
// again on the next event, since what is missing (a strategy, a snapshot) may yet come.
func (m *machine) initialize() {
	if err := m.plan0(); err != "" {
		*m.st = placementv1beta1.UpdateRunStatus{Conditions: m.st.Conditions}
		m.cond(&m.st.Conditions, placementv1beta1.UpdateRunInitializedConditionType, metav1.ConditionFalse,
			placementv1beta1.UpdateRunInitializeFailedReason, err)
		return
	}
	m.cond(&m.st.Conditions, placementv1beta1.UpdateRunInitializedConditionType, metav1.ConditionTrue,
		placementv1beta1.UpdateRunInitializeSucceededReason, "")
}

// plan0 fills the status with the stages, or returns why it cannot.
func (m *machine) plan0() string {
	spec := m.run.GetUpdateRunSpec()
	crp := m.f.Placement
	switch {
	case crp == nil:
		return fmt.Sprintf("%s %q not found: create it, or create a run whose spec.placementName names one that exists", m.kinds().placement, spec.PlacementName)
	case crp.GetDeletionTimestamp() != nil:
		return fmt.Sprintf("%s %q is being deleted", m.kinds().placement, spec.PlacementName)
	case crp.GetPlacementSpec().Strategy.Type != placementv1beta1.ExternalRolloutStrategyType:
		return fmt.Sprintf("%s %q has spec.strategy.type %q: a staged update run rolls out only placements with spec.strategy.type External",
			m.kinds().placement, spec.PlacementName, crp.GetPlacementSpec().Strategy.Type)
	case m.f.Strategy == nil:
		return fmt.Sprintf("%s %q not found: create it (spec.stagedRolloutStrategyName cannot change)", m.kinds().strategy, spec.StagedUpdateStrategyName)
	case m.f.PolicySnapshotIndex == "" || m.f.Picked == nil:
		return fmt.Sprintf("%s %q has not been scheduled yet", m.kinds().placement, spec.PlacementName)
	case m.f.ResourceSnapshot == "":
		return m.f.ResourceSnapshotError
	}
	var targets, leaving []string
	for cluster, b := range m.f.Bindings {
		switch {
		case b.Deleting:
		case b.State == placementv1beta1.BindingStateUnscheduled:
			leaving = append(leaving, cluster)
		default:
			targets = append(targets, cluster)
		}
	}
	slices.Sort(targets)
	slices.Sort(leaving)
	// The stages are worked out once, so every member the scheduler picked must have its
	// binding first.
	var unbound []string
	for _, c := range m.f.Picked {
		if !slices.Contains(targets, c) {
			unbound = append(unbound, c)
		}
	}
	if len(unbound) > 0 {
		slices.Sort(unbound)
		return fmt.Sprintf("waiting for the scheduler to bind the members it picked: %s", strings.Join(unbound, ", "))
	}
	strategy := m.f.Strategy.DeepCopy()
	stageOf := map[string]string{}
	st := placementv1beta1.UpdateRunStatus{Conditions: m.st.Conditions}
	for i := range strategy.Stages {
		sc := &strategy.Stages[i]
		if sc.MaxConcurrency == nil {
			one := intstr.FromInt32(1)
			sc.MaxConcurrency = &one
		}
		sel := labels.Everything()
		if sc.LabelSelector != nil {
			s, err := metav1.LabelSelectorAsSelector(sc.LabelSelector)
			if err != nil {
				return fmt.Sprintf("%s %q: stages[%d] (%s).labelSelector: %v", m.kinds().strategy, spec.StagedUpdateStrategyName, i, sc.Name, err)
			}
			sel = s
		}
		var members []string
		for _, c := range targets {
			if !sel.Matches(labels.Set(m.f.MemberLabels[c])) {
				continue
			}
			if other, taken := stageOf[c]; taken {
				return fmt.Sprintf("member %s is selected by stages %s and %s of %s %q: each member must be in one stage only; fix the labelSelectors",
					c, other, sc.Name, m.kinds().strategy, spec.StagedUpdateStrategyName)
			}
			stageOf[c] = sc.Name
			members = append(members, c)
		}
		key := ""
		if sc.SortingLabelKey != nil {
			key = *sc.SortingLabelKey
		}
		ss := placementv1beta1.StageUpdatingStatus{StageName: sc.Name, Clusters: []placementv1beta1.ClusterUpdatingStatus{}}
		for _, c := range stages.Order(members, m.f.MemberLabels, key) {
			ov := m.f.Overrides[c]
			ss.Clusters = append(ss.Clusters, placementv1beta1.ClusterUpdatingStatus{ClusterName: c,
				ClusterResourceOverrideSnapshots: ov.Cluster, ResourceOverrideSnapshots: ov.Namespaced})
		}
		for _, t := range sc.BeforeStageTasks {
			ss.BeforeStageTaskStatus = append(ss.BeforeStageTaskStatus, taskStatus(m.run.GetName(), sc.Name, t, true))
		}
		for _, t := range sc.AfterStageTasks {
			ss.AfterStageTaskStatus = append(ss.AfterStageTaskStatus, taskStatus(m.run.GetName(), sc.Name, t, false))
		}
		st.StagesStatus = append(st.StagesStatus, ss)
	}
	var missing []string
	for _, c := range targets {
		if _, ok := stageOf[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("the placement picked members that no stage of %s %q selects: %s; add a stage (or widen a labelSelector) that selects them",
			m.kinds().strategy, spec.StagedUpdateStrategyName, strings.Join(missing, ", "))
	}
	del := &placementv1beta1.StageUpdatingStatus{StageName: placementv1beta1.UpdateRunDeleteStageName, Clusters: []placementv1beta1.ClusterUpdatingStatus{}}
	for _, c := range leaving {
		del.Clusters = append(del.Clusters, placementv1beta1.ClusterUpdatingStatus{ClusterName: c})
	}
	st.DeletionStageStatus = del
	st.PolicySnapshotIndexUsed = m.f.PolicySnapshotIndex
	st.ResourceSnapshotIndexUsed = m.f.ResourceSnapshotIndex
	st.PolicyObservedClusterCount = len(targets)
	st.AppliedStrategy = crp.GetPlacementSpec().Strategy.ApplyStrategy.Defaulted()
	st.UpdateStrategySnapshot = strategy
	*m.st = st
	return ""
}

func taskStatus(run, stage string, t placementv1beta1.StageTask, before bool) placementv1beta1.StageTaskStatus {
	ts := placementv1beta1.StageTaskStatus{Type: t.Type}
	if t.Type == placementv1beta1.StageTaskTypeApproval {
		if before {
			ts.ApprovalRequestName = placementv1beta1.BeforeStageApprovalName(run, stage)
		} else {
			ts.ApprovalRequestName = placementv1beta1.AfterStageApprovalName(run, stage)
		}
	}
	return ts
}

// kindNames are the kinds a run works with, by its scope, for messages.
type kindNames struct{ placement, strategy, approval string }

func (m *machine) kinds() kindNames {
	if m.run.GetNamespace() != "" {
		return kindNames{"ResourcePlacement", "StagedUpdateStrategy", "ApprovalRequest"}
	}
	return kindNames{"ClusterResourcePlacement", "ClusterStagedUpdateStrategy", "ClusterApprovalRequest"}
}

func (m *machine) stopping() bool {
	return m.run.GetUpdateRunSpec().State == placementv1beta1.UpdateRunStateStop
}

func (m *machine) execute() {
	if m.f.ResourceSnapshot == "" {
		msg := "the run's resource snapshot is gone: " + m.f.ResourceSnapshotError
		m.cond(&m.st.Conditions, placementv1beta1.UpdateRunProgressingConditionType, metav1.ConditionFalse, placementv1beta1.UpdateRunFailedReason, msg)
		m.cond(&m.st.Conditions, placementv1beta1.UpdateRunSucceededConditionType, metav1.ConditionFalse, placementv1beta1.UpdateRunFailedReason, msg)
		return
	}
	for i := range m.st.StagesStatus {
		var cfg *placementv1beta1.StageConfig
		if s := m.st.UpdateStrategySnapshot; s != nil && i < len(s.Stages) {
			cfg = &s.Stages[i]
		}
		if cfg == nil || cfg.Name != m.st.StagesStatus[i].StageName {
			m.fail(&m.st.StagesStatus[i], "the run's status no longer matches its strategy snapshot")
			return
		}
		if !m.advanceStage(&m.st.StagesStatus[i], cfg) {
			m.progressing()
			return
		}
	}
	if m.st.DeletionStageStatus == nil {
		m.st.DeletionStageStatus = &placementv1beta1.StageUpdatingStatus{StageName: placementv1beta1.UpdateRunDeleteStageName,
			Clusters: []placementv1beta1.ClusterUpdatingStatus{}}
	}
	if !m.advanceDeletion(m.st.DeletionStageStatus) {
		m.progressing()
		return
	}
	m.cond(&m.st.Conditions, placementv1beta1.UpdateRunProgressingConditionType, metav1.ConditionFalse, placementv1beta1.UpdateRunSucceededReason, "")
	m.cond(&m.st.Conditions, placementv1beta1.UpdateRunSucceededConditionType, metav1.ConditionTrue, placementv1beta1.UpdateRunSucceededReason,
		fmt.Sprintf("resource snapshot index %s is rolled out to every stage", m.st.ResourceSnapshotIndexUsed))
}

// progressing sets the run's Progressing condition for a run that is not done.
func (m *machine) progressing() {
	switch {
	case m.finished():
	case m.stopping():
		m.cond(&m.st.Conditions, placementv1beta1.UpdateRunProgressingConditionType, metav1.ConditionFalse, placementv1beta1.UpdateRunStoppedReason,
			"the run is stopped (spec.state Stop); members that were being updated finish, and no new one starts until spec.state is Run")
	case m.waitingFor != "":
		m.cond(&m.st.Conditions, placementv1beta1.UpdateRunProgressingConditionType, metav1.ConditionFalse, placementv1beta1.UpdateRunWaitingReason, m.waitingFor)
	default:
		m.cond(&m.st.Conditions, placementv1beta1.UpdateRunProgressingConditionType, metav1.ConditionTrue, placementv1beta1.UpdateRunStartedReason, "")
	}
}

// advanceStage moves one stage on and says whether it is done.
func (m *machine) advanceStage(s *placementv1beta1.StageUpdatingStatus, cfg *placementv1beta1.StageConfig) bool {
	if meta.IsStatusConditionTrue(s.Conditions, placementv1beta1.StageSucceededConditionType) {
		return true
	}
	if s.StartTime == nil {
		if m.stopping() {
			return false
		}
		if !m.tasksDone(s, s.BeforeStageTaskStatus, time.Time{}) {
			m.cond(&s.Conditions, placementv1beta1.StageProgressingConditionType, metav1.ConditionFalse, placementv1beta1.StageUpdatingWaitingReason, m.waitingFor)
			return false
		}
		now := metav1.NewTime(m.f.Now)
		s.StartTime = &now
	}
	limit := stages.Concurrency(cfg.MaxConcurrency, len(s.Clusters))
	inFlight, done := 0, 0
	var lastDone time.Time
	for i := range s.Clusters {
		c := &s.Clusters[i]
		switch {
		case meta.IsStatusConditionTrue(c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType):
			done++
			if t := meta.FindStatusCondition(c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType).LastTransitionTime.Time; t.After(lastDone) {
				lastDone = t
			}
		case meta.IsStatusConditionTrue(c.Conditions, placementv1beta1.ClusterUpdatingStartedConditionType):
			if why := m.observe(c); why != "" {
				m.cond(&c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType, metav1.ConditionFalse, placementv1beta1.ClusterUpdatingFailedReason, why)
				m.fail(s, fmt.Sprintf("member %s: %s", c.ClusterName, why))
				return false
			}
			if meta.IsStatusConditionTrue(c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType) {
				done++
				lastDone = m.f.Now
			} else {
				inFlight++
			}
		case inFlight < limit && !m.stopping():
			if m.f.Bindings[c.ClusterName] == nil {
				why := "its binding is gone: the member left the fleet, or the placement no longer picks it"
				m.cond(&c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType, metav1.ConditionFalse, placementv1beta1.ClusterUpdatingFailedReason, why)
				m.fail(s, fmt.Sprintf("member %s: %s", c.ClusterName, why))
				return false
			}
			m.plan.Bind = append(m.plan.Bind, c.ClusterName)
			m.cond(&c.Conditions, placementv1beta1.ClusterUpdatingStartedConditionType, metav1.ConditionTrue, placementv1beta1.ClusterUpdatingStartedReason, "")
			inFlight++
		}
	}
	if done < len(s.Clusters) {
		if m.stopping() {
			m.cond(&s.Conditions, placementv1beta1.StageProgressingConditionType, metav1.ConditionFalse, placementv1beta1.StageUpdatingStoppedReason, "the run is stopped")
		} else {
			m.cond(&s.Conditions, placementv1beta1.StageProgressingConditionType, metav1.ConditionTrue, placementv1beta1.StageUpdatingStartedReason,
				fmt.Sprintf("%d of %d members updated, %d updating", done, len(s.Clusters), inFlight))
		}
		return false
	}
	if lastDone.IsZero() {
		lastDone = s.StartTime.Time
	}
	if !m.tasksDone(s, s.AfterStageTaskStatus, lastDone) {
		m.cond(&s.Conditions, placementv1beta1.StageProgressingConditionType, metav1.ConditionFalse, placementv1beta1.StageUpdatingWaitingReason, m.waitingFor)
		return false
	}
	return m.succeed(s)
}

// observe looks at a member being updated: it marks it Succeeded once its binding serves the
// run's snapshot, asks for the binding write again while the binding does not show it, and
// returns why the member failed, if it did.
func (m *machine) observe(c *placementv1beta1.ClusterUpdatingStatus) string {
	b := m.f.Bindings[c.ClusterName]
	if b == nil || b.Deleting {
		return "its binding is gone: the member left the fleet, or the placement no longer picks it"
	}
	if b.State != placementv1beta1.BindingStateBound || b.Snapshot != m.f.ResourceSnapshot {
		if !m.stopping() {
			m.plan.Bind = append(m.plan.Bind, c.ClusterName)
		}
		return ""
	}
	current := func(typ placementv1beta1.ResourceConditionType) *metav1.Condition {
		cond := meta.FindStatusCondition(b.Conditions, string(typ))
		if cond == nil || cond.ObservedGeneration != b.Generation {
			return nil
		}
		return cond
	}
	for _, typ := range []placementv1beta1.ResourceConditionType{placementv1beta1.ResourceOverriddenConditionType,
		placementv1beta1.ResourceWorkSynchronizedConditionType, placementv1beta1.ResourcesAppliedConditionType} {
		if cond := current(typ); cond != nil && cond.Status == metav1.ConditionFalse {
			return fmt.Sprintf("%s is False (%s): %s", typ, cond.Reason, cond.Message)
		}
	}
	if cond := current(placementv1beta1.ResourcesAvailableConditionType); cond != nil && cond.Status == metav1.ConditionTrue {
		m.cond(&c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType, metav1.ConditionTrue, placementv1beta1.ClusterUpdatingSucceededReason, "")
	}
	return ""
}

// tasksDone carries out before- or after-stage tasks and says whether all are done. An
// after-stage wait counts from since, when the stage's last member was updated.
func (m *machine) tasksDone(s *placementv1beta1.StageUpdatingStatus, tasks []placementv1beta1.StageTaskStatus, since time.Time) bool {
	all := true
	var cfgTasks []placementv1beta1.StageTask
	if cfg := m.stageConfig(s.StageName); cfg != nil {
		cfgTasks = cfg.AfterStageTasks
	}
	for i := range tasks {
		t := &tasks[i]
		switch t.Type {
		case placementv1beta1.StageTaskTypeTimedWait:
			if meta.IsStatusConditionTrue(t.Conditions, placementv1beta1.StageTaskWaitTimeElapsedConditionType) {
				continue
			}
			var wait time.Duration
			for _, ct := range cfgTasks {
				if ct.Type == placementv1beta1.StageTaskTypeTimedWait && ct.WaitTime != nil {
					wait = ct.WaitTime.Duration
				}
			}
			if left := stages.WaitLeft(since, wait, m.f.Now); left > 0 {
				m.requeue(left)
				m.waiting(fmt.Sprintf("stage %s waits %s after its last member was updated (%s left)", s.StageName, wait, left.Round(time.Second)))
				all = false
				continue
			}
			m.cond(&t.Conditions, placementv1beta1.StageTaskWaitTimeElapsedConditionType, metav1.ConditionTrue, placementv1beta1.AfterStageTaskWaitTimeElapsedReason, "")
		case placementv1beta1.StageTaskTypeApproval:
			if meta.IsStatusConditionTrue(t.Conditions, placementv1beta1.StageTaskApprovalRequestApprovedConditionType) {
				continue
			}
			if m.stopping() {
				all = false
				continue
			}
			taskType := placementv1beta1.AfterStageTaskLabelValue
			if t.ApprovalRequestName == placementv1beta1.BeforeStageApprovalName(m.run.GetName(), s.StageName) {
				taskType = placementv1beta1.BeforeStageTaskLabelValue
			}
			a, exists := m.f.Approvals[t.ApprovalRequestName]
			if !exists {
				m.plan.Approvals = append(m.plan.Approvals, ApprovalToEnsure{Name: t.ApprovalRequestName, Stage: s.StageName, TaskType: taskType})
			}
			m.cond(&t.Conditions, placementv1beta1.StageTaskApprovalRequestCreatedConditionType, metav1.ConditionTrue, placementv1beta1.StageTaskApprovalRequestCreatedReason, "")
			if !a.Approved {
				m.waiting(fmt.Sprintf("stage %s waits for %s %s to be approved (its Approved condition set to True, as `kubectl fleet approve %s --name %s` does)",
					s.StageName, m.kinds().approval, t.ApprovalRequestName, strings.ToLower(m.kinds().approval), t.ApprovalRequestName))
				all = false
				continue
			}
			m.cond(&t.Conditions, placementv1beta1.StageTaskApprovalRequestApprovedConditionType, metav1.ConditionTrue, placementv1beta1.StageTaskApprovalRequestApprovedReason, "")
			m.plan.Accept = append(m.plan.Accept, t.ApprovalRequestName)
		}
	}
	return all
}

func (m *machine) stageConfig(name string) *placementv1beta1.StageConfig {
	if m.st.UpdateStrategySnapshot == nil {
		return nil
	}
	for i := range m.st.UpdateStrategySnapshot.Stages {
		if m.st.UpdateStrategySnapshot.Stages[i].Name == name {
			return &m.st.UpdateStrategySnapshot.Stages[i]
		}
	}
	return nil
}

func (m *machine) waiting(why string) {
	if m.waitingFor == "" {
		m.waitingFor = why
	}
}

func (m *machine) requeue(d time.Duration) {
	if m.plan.RequeueAfter == 0 || d < m.plan.RequeueAfter {
		m.plan.RequeueAfter = d
	}
}

// advanceDeletion removes the placement from the members it no longer picks.
func (m *machine) advanceDeletion(s *placementv1beta1.StageUpdatingStatus) bool {
	if meta.IsStatusConditionTrue(s.Conditions, placementv1beta1.StageSucceededConditionType) {
		return true
	}
	if m.stopping() {
		return false
	}
	if s.StartTime == nil {
		now := metav1.NewTime(m.f.Now)
		s.StartTime = &now
	}
	left := 0
	for i := range s.Clusters {
		c := &s.Clusters[i]
		if meta.IsStatusConditionTrue(c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType) {
			continue
		}
		m.cond(&c.Conditions, placementv1beta1.ClusterUpdatingStartedConditionType, metav1.ConditionTrue, placementv1beta1.ClusterUpdatingStartedReason, "")
		b := m.f.Bindings[c.ClusterName]
		switch {
		case b == nil:
			m.cond(&c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType, metav1.ConditionTrue, placementv1beta1.ClusterUpdatingSucceededReason, "")
		case b.State != placementv1beta1.BindingStateUnscheduled:
			// The scheduler picked the member again since the run began; it keeps it.
			m.cond(&c.Conditions, placementv1beta1.ClusterUpdatingSucceededConditionType, metav1.ConditionTrue, placementv1beta1.ClusterUpdatingSucceededReason,
				"the placement picks the member again, so it was kept")
		default:
			if !b.Deleting {
				m.plan.Delete = append(m.plan.Delete, c.ClusterName)
			}
			left++
		}
	}
	if left > 0 {
		m.cond(&s.Conditions, placementv1beta1.StageProgressingConditionType, metav1.ConditionTrue, placementv1beta1.StageUpdatingStartedReason,
			fmt.Sprintf("removing the placement from %d members it no longer picks", left))
		return false
	}
	return m.succeed(s)
}

// succeed ends a stage that is done; it returns true, for the callers to pass on.
func (m *machine) succeed(s *placementv1beta1.StageUpdatingStatus) bool {
	now := metav1.NewTime(m.f.Now)
	s.EndTime = &now
	m.cond(&s.Conditions, placementv1beta1.StageProgressingConditionType, metav1.ConditionFalse, placementv1beta1.StageUpdatingSucceededReason, "")
	m.cond(&s.Conditions, placementv1beta1.StageSucceededConditionType, metav1.ConditionTrue, placementv1beta1.StageUpdatingSucceededReason, "")
	return true
}

// fail stops the run: a failed member is not rolled past.
func (m *machine) fail(s *placementv1beta1.StageUpdatingStatus, why string) {
	m.cond(&s.Conditions, placementv1beta1.StageProgressingConditionType, metav1.ConditionFalse, placementv1beta1.StageUpdatingFailedReason, why)
	m.cond(&s.Conditions, placementv1beta1.StageSucceededConditionType, metav1.ConditionFalse, placementv1beta1.StageUpdatingFailedReason, why)
	msg := fmt.Sprintf("stage %s failed: %s; no member past it is updated. Fix the cause and create a new run", s.StageName, why)
	m.cond(&m.st.Conditions, placementv1beta1.UpdateRunProgressingConditionType, metav1.ConditionFalse, placementv1beta1.UpdateRunFailedReason, msg)
	m.cond(&m.st.Conditions, placementv1beta1.UpdateRunSucceededConditionType, metav1.ConditionFalse, placementv1beta1.UpdateRunFailedReason, msg)
}
