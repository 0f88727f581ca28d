package updaterun

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/stages"
)

// This file is the run's state machine: a pure function from a run and the facts around it
// to the run's next status and what the reconciler must create or change. It does no I/O,
// so every transition is unit-tested without an API server.

// MemberFacts is what the machine knows of one member cluster with an upgrade provider.
type MemberFacts struct {
	Name     string
	Group    string // the updates.flotilla.dev/group label
	Provider string // the updates.flotilla.dev/provider annotation
	// Settings are the MemberCluster's annotations under updates.flotilla.dev/: the
	// provider's per-member settings, which every MemberUpdate of the member carries.
	Settings map[string]string
	// Profile is the provider's MemberUpgradeProfile, or nil.
	Profile *updatesv1alpha1.MemberUpgradeProfileStatus
}

// Facts are what the reconciler read for one step.
type Facts struct {
	Now time.Time
	// Strategy is the UpdateStrategy the run names, or nil; StrategyError says why it
	// could not be read (empty when the run names none).
	Strategy      *updatesv1alpha1.UpdateStrategySpec
	StrategyError string
	// Members are the member clusters that have an upgrade provider, by name.
	Members map[string]*MemberFacts
	// Operations are the run's MemberUpdates' statuses, by member name.
	Operations map[string]*updatesv1alpha1.MemberUpdateStatus
	// Gates are the run's Gate objects' states, by Gate name.
	Gates map[string]updatesv1alpha1.GateState
}

// Operation is a MemberUpdate the reconciler must make sure exists.
type Operation struct {
	Member string
	Spec   updatesv1alpha1.MemberUpdateSpec
}

// GateToEnsure is a Gate the reconciler must make sure exists.
type GateToEnsure struct {
	Name        string
	DisplayName string
	Target      updatesv1alpha1.GateTarget
}

// Plan is the machine's answer: the next status and the work for the reconciler.
type Plan struct {
	Status     updatesv1alpha1.UpdateRunStatus
	Operations []Operation
	Gates      []GateToEnsure
	// SkipGates are Gate objects to mark Skipped, because the run skipped their part.
	SkipGates []string
	// RequeueAfter is when to look again without an event (a wait ends), or 0.
	RequeueAfter time.Duration
}

// Default stage and group of a run without a strategy.
const (
	DefaultStage = "default"
	DefaultGroup = "default"
)

// DefaultStrategy is the strategy of a run that names none: one stage with one group.
func DefaultStrategy() *updatesv1alpha1.UpdateStrategySpec {
	return &updatesv1alpha1.UpdateStrategySpec{Stages: []updatesv1alpha1.StageConfig{{
		Name: DefaultStage, Groups: []updatesv1alpha1.GroupConfig{{Name: DefaultGroup}},
	}}}
}

// GateName names the Gate object of a stage's gate (group empty) or a group's gate. Dots
// separate the parts, which are DNS labels, so no two gates can share a name.
func GateName(run, stage, group string, timing updatesv1alpha1.GateTiming, index int) string {
	t := "before"
	if timing == updatesv1alpha1.GateAfter {
		t = "after"
	}
	name := run + "." + stage
	if group != "" {
		name += "." + group
	}
	return fmt.Sprintf("%s.%s-%d", name, t, index+1)
}

// Advance computes the run's next status from its current one and the facts.
func Advance(run *updatesv1alpha1.UpdateRun, facts Facts) Plan {
	m := &machine{run: run, facts: facts, now: metav1.NewMicroTime(facts.Now)}
	m.plan.Status = *run.Status.DeepCopy()
	m.st = &m.plan.Status
	m.advance()
	return m.plan
}

type machine struct {
	run   *updatesv1alpha1.UpdateRun
	facts Facts
	now   metav1.MicroTime
	plan  Plan
	st    *updatesv1alpha1.UpdateRunStatus
}

func (m *machine) advance() {
	st := m.st
	if st.State == "" || st.State == updatesv1alpha1.StateNotStarted {
		if !m.snapshot() {
			return
		}
		if m.run.Spec.State != updatesv1alpha1.RequestRunning {
			return
		}
		if !m.start() {
			st.ObservedGeneration = m.run.Generation
			return
		}
	}
	st.ObservedGeneration = m.run.Generation
	if st.State == updatesv1alpha1.StateCompleted {
		return
	}
	m.observeOperations()
	if st.State != updatesv1alpha1.StateFailed {
		m.applySkips()
	}
	m.propagateFailure()
	resume := m.run.Spec.State == updatesv1alpha1.RequestRunning &&
		(st.State == updatesv1alpha1.StateStopping || st.State == updatesv1alpha1.StateStopped)
	if resume {
		st.State = updatesv1alpha1.StateRunning
		st.Error = ""
	}
	if st.State == updatesv1alpha1.StateFailed || m.run.Spec.State == updatesv1alpha1.RequestStopped {
		m.halt()
		return
	}
	m.progress()
}

// snapshot copies the strategy into the status while the run has not started. It returns
// false when the strategy cannot be had; the status then says why.
func (m *machine) snapshot() bool {
	st := m.st
	st.State = updatesv1alpha1.StateNotStarted
	if st.StrategySnapshot != nil && !m.snapshotOutdated() {
		st.ObservedGeneration = m.run.Generation
		return true
	}
	var s *updatesv1alpha1.UpdateStrategySpec
	switch {
	case m.run.Spec.Strategy != nil:
		s = m.run.Spec.Strategy.DeepCopy()
	case m.run.Spec.UpdateStrategyName != "":
		if m.facts.Strategy == nil {
			st.Error = m.facts.StrategyError
			if st.Error == "" {
				st.Error = fmt.Sprintf("UpdateStrategy %q not found: create it, or fix spec.updateStrategyName", m.run.Spec.UpdateStrategyName)
			}
			st.StrategySnapshot = nil
			st.Stages = nil
			return false
		}
		s = m.facts.Strategy.DeepCopy()
	default:
		s = DefaultStrategy()
	}
	st.Error = ""
	st.StrategySnapshot = s
	st.UpdateStrategyName = ""
	if m.run.Spec.Strategy == nil {
		st.UpdateStrategyName = m.run.Spec.UpdateStrategyName
	}
	st.ObservedGeneration = m.run.Generation
	st.Stages = make([]updatesv1alpha1.StageStatus, len(s.Stages))
	for i, sc := range s.Stages {
		st.Stages[i] = updatesv1alpha1.StageStatus{Name: sc.Name, Status: updatesv1alpha1.Status{State: updatesv1alpha1.StateNotStarted}}
		for _, gc := range sc.Groups {
			st.Stages[i].Groups = append(st.Stages[i].Groups, updatesv1alpha1.GroupStatus{
				Name: gc.Name, Status: updatesv1alpha1.Status{State: updatesv1alpha1.StateNotStarted},
			})
		}
	}
	return true
}

// snapshotOutdated says whether the run's own spec now names a different strategy than
// the one copied. Edits of a named UpdateStrategy do not count: the copy is what the run
// follows.
func (m *machine) snapshotOutdated() bool {
	spec, st := &m.run.Spec, m.st
	switch {
	case spec.Strategy != nil:
		return st.UpdateStrategyName != "" || !equality.Semantic.DeepEqual(spec.Strategy, st.StrategySnapshot)
	case spec.UpdateStrategyName != "":
		return st.UpdateStrategyName != spec.UpdateStrategyName
	default:
		return st.UpdateStrategyName != "" || !equality.Semantic.DeepEqual(DefaultStrategy(), st.StrategySnapshot)
	}
}

// start fixes each group's members and, for Consistent, the node images. A Consistent run
// whose members have not all published a usable profile does not start: it reports whom it
// waits for, and fails once it has waited longer than its profileWaitTimeout. start says
// whether the run started.
func (m *machine) start() bool {
	st := m.st
	isDefault := m.run.Spec.Strategy == nil && m.run.Spec.UpdateStrategyName == ""
	names := make([]string, 0, len(m.facts.Members))
	for name := range m.facts.Members {
		names = append(names, name)
	}
	sort.Strings(names)
	inGroup := func(g *updatesv1alpha1.GroupStatus) []string {
		var out []string
		for _, name := range names {
			if isDefault || m.facts.Members[name].Group == g.Name {
				out = append(out, name)
			}
		}
		return out
	}
	if isConsistent(m.run) {
		var members []*MemberFacts
		m.eachGroup(func(g *updatesv1alpha1.GroupStatus) {
			for _, name := range inGroup(g) {
				members = append(members, m.facts.Members[name])
			}
		})
		choice := chooseConsistent(members)
		if len(choice.waiting) > 0 {
			m.waitForProfiles(choice.waiting)
			return false
		}
		st.NodeImageSelection = &updatesv1alpha1.NodeImageSelectionStatus{SelectedNodeImageVersions: choice.images}
		m.setCondition(updatesv1alpha1.NodeImagesSelectedCondition, metav1.ConditionTrue, updatesv1alpha1.NodeImagesSelectedReason,
			fmt.Sprintf("every member gets %s: the newest image all their regions offer", imageList(choice.images)))
	}
	m.eachGroup(func(g *updatesv1alpha1.GroupStatus) {
		g.Members = nil
		for _, name := range inGroup(g) {
			g.Members = append(g.Members, updatesv1alpha1.MemberStatus{
				Name: name, Status: updatesv1alpha1.Status{State: updatesv1alpha1.StateNotStarted},
			})
		}
	})
	st.State = updatesv1alpha1.StateRunning
	st.StartTime = m.nowPtr()
	st.Error = ""
	return true
}

// profilePollPeriod is how often a Consistent run that waits for profiles looks again.
const profilePollPeriod = 2 * time.Second

// waitForProfiles keeps a Consistent run from starting while members lack a profile, and
// fails it once the wait has lasted its profileWaitTimeout.
func (m *machine) waitForProfiles(waiting []string) {
	timeout := updatesv1alpha1.DefaultProfileWaitTimeout
	if d := m.run.Spec.ManagedClusterUpdate.NodeImageSelection.ProfileWaitTimeout; d != nil && d.Duration > 0 {
		timeout = d.Duration
	}
	since := m.facts.Now
	if c := meta.FindStatusCondition(m.st.Conditions, updatesv1alpha1.NodeImagesSelectedCondition); c != nil &&
		c.Reason == updatesv1alpha1.WaitingForUpgradeProfilesReason {
		since = c.LastTransitionTime.Time
	}
	list := strings.Join(waiting, ", ")
	if m.facts.Now.Sub(since) >= timeout {
		msg := fmt.Sprintf("gave up choosing Consistent node images after %s: no usable MemberUpgradeProfile from %s; "+
			"fix their upgrade providers, or raise spec.managedClusterUpdate.nodeImageSelection.profileWaitTimeout and create the run again", timeout, list)
		m.setCondition(updatesv1alpha1.NodeImagesSelectedCondition, metav1.ConditionFalse, updatesv1alpha1.UpgradeProfilesTimedOutReason, msg)
		m.finish(&m.st.Status, updatesv1alpha1.StateFailed, msg)
		return
	}
	m.setCondition(updatesv1alpha1.NodeImagesSelectedCondition, metav1.ConditionFalse, updatesv1alpha1.WaitingForUpgradeProfilesReason,
		fmt.Sprintf("waiting for %s; the run starts once every member has published its profile, and fails after %s (at %s)",
			list, timeout, since.Add(timeout).UTC().Format(time.RFC3339)))
	m.requeue(profilePollPeriod)
}

// setCondition sets a condition of the run, with the machine's clock.
func (m *machine) setCondition(typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&m.st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: m.run.Generation, LastTransitionTime: metav1.NewTime(m.facts.Now)})
}

func (m *machine) eachGroup(f func(*updatesv1alpha1.GroupStatus)) {
	for si := range m.st.Stages {
		for gi := range m.st.Stages[si].Groups {
			f(&m.st.Stages[si].Groups[gi])
		}
	}
}

func imageList(images []updatesv1alpha1.NodeImageVersion) string {
	parts := make([]string, len(images))
	for i, v := range images {
		parts[i] = v.Family + "-" + v.Version
	}
	return strings.Join(parts, ", ")
}

func (m *machine) nowPtr() *metav1.MicroTime {
	t := m.now
	return &t
}

func (m *machine) begin(s *updatesv1alpha1.Status) {
	s.State = updatesv1alpha1.StateRunning
	if s.StartTime == nil {
		s.StartTime = m.nowPtr()
	}
}

func (m *machine) finish(s *updatesv1alpha1.Status, state updatesv1alpha1.State, msg string) {
	if s.StartTime == nil {
		s.StartTime = m.nowPtr()
	}
	s.State = state
	s.CompletedTime = m.nowPtr()
	s.Error = msg
}

// observeOperations takes the outcome of running members' MemberUpdates.
func (m *machine) observeOperations() {
	m.eachMember(func(_ *updatesv1alpha1.StageStatus, _ *updatesv1alpha1.GroupStatus, ms *updatesv1alpha1.MemberStatus) {
		if ms.Status.State != updatesv1alpha1.StateRunning {
			return
		}
		op := m.facts.Operations[ms.Name]
		if op == nil {
			mf := m.facts.Members[ms.Name]
			if mf == nil {
				// The member left the fleet (its namespace and operation with it), or lost
				// its provider: nothing will report on it again.
				m.finish(&ms.Status, updatesv1alpha1.StatePending, "the MemberCluster is gone or no longer has an upgrade provider; its operation did not finish")
				return
			}
			// Made by an earlier step whose write was lost, or not made yet: make it.
			t := memberTarget(m.run, m.selected(), mf)
			if t.pending != "" && isConsistent(m.run) {
				// Its profile changed since the member started: an operation made now would
				// not hold the selected images.
				m.passOver(ms, t.pending)
				return
			}
			m.plan.Operations = append(m.plan.Operations, Operation{Member: ms.Name, Spec: t.spec})
			return
		}
		ms.Message = op.Message
		switch op.State {
		case updatesv1alpha1.StateCompleted:
			if off := m.offTarget(ms.Name); off != "" {
				if op.CompletedTime != nil && m.facts.Now.Sub(op.CompletedTime.Time) > profileCatchUp {
					m.finish(&ms.Status, updatesv1alpha1.StateFailed, "the operation reported success, but "+off)
					return
				}
				ms.Message = "the operation completed; waiting for the profile to show the target: " + off
				m.requeue(profilePollPeriod)
				return
			}
			m.finish(&ms.Status, updatesv1alpha1.StateCompleted, "")
			if op.CompletedTime != nil {
				ms.Status.CompletedTime = op.CompletedTime.DeepCopy()
			}
		case updatesv1alpha1.StateFailed:
			msg := op.Message
			if msg == "" {
				msg = "the operation failed without a message"
			}
			m.finish(&ms.Status, updatesv1alpha1.StateFailed, msg)
		}
	})
}

// profileCatchUp is how long after an operation reports success its member's profile may
// still show the old images before the run calls the member failed.
const profileCatchUp = 2 * time.Minute

// offTarget says, for a Consistent run, how a member whose operation completed is still off
// the selected images by its profile; empty when it is on them (or the run is not
// Consistent).
func (m *machine) offTarget(member string) string {
	if !isConsistent(m.run) {
		return ""
	}
	mf := m.facts.Members[member]
	if mf == nil || mf.Profile == nil {
		return fmt.Sprintf("%s has no MemberUpgradeProfile to show its node images", member)
	}
	wanted := map[string]string{}
	for _, v := range m.selected() {
		wanted[v.Family] = v.Version
	}
	for _, pool := range mf.Profile.NodePools {
		if want := wanted[pool.ImageFamily]; pool.NodeImageVersion != want {
			return fmt.Sprintf("node pool %s of %s runs %s-%s, not the selected %s-%s", pool.Name, member, pool.ImageFamily, pool.NodeImageVersion, pool.ImageFamily, want)
		}
	}
	return ""
}

func (m *machine) eachMember(f func(*updatesv1alpha1.StageStatus, *updatesv1alpha1.GroupStatus, *updatesv1alpha1.MemberStatus)) {
	for si := range m.st.Stages {
		s := &m.st.Stages[si]
		for gi := range s.Groups {
			g := &s.Groups[gi]
			for mi := range g.Members {
				f(s, g, &g.Members[mi])
			}
		}
	}
}

func (m *machine) selected() []updatesv1alpha1.NodeImageVersion {
	if m.st.NodeImageSelection == nil {
		return nil
	}
	return m.st.NodeImageSelection.SelectedNodeImageVersions
}

// propagateFailure marks the group, stage and run of a failed member Failed.
func (m *machine) propagateFailure() {
	for si := range m.st.Stages {
		s := &m.st.Stages[si]
		for gi := range s.Groups {
			g := &s.Groups[gi]
			if g.Status.State.Terminal() {
				continue
			}
			for _, ms := range g.Members {
				if ms.Status.State == updatesv1alpha1.StateFailed {
					m.finish(&g.Status, updatesv1alpha1.StateFailed, fmt.Sprintf("member %s failed: %s", ms.Name, ms.Status.Error))
					break
				}
			}
			if g.Status.State == updatesv1alpha1.StateFailed && !s.Status.State.Terminal() {
				m.finish(&s.Status, updatesv1alpha1.StateFailed, fmt.Sprintf("group %s: %s", g.Name, g.Status.Error))
			}
			if g.Status.State == updatesv1alpha1.StateFailed && m.st.State != updatesv1alpha1.StateFailed {
				m.finish(&m.st.Status, updatesv1alpha1.StateFailed, fmt.Sprintf("stage %s: group %s: %s", s.Name, g.Name, g.Status.Error))
			}
		}
	}
}

// halt is the step of a stopped or failed run: running operations finish, nothing starts.
// Each running stage and group shows Stopping while one of its members still runs, and
// Stopped after.
func (m *machine) halt() {
	anyStopping := false
	for si := range m.st.Stages {
		s := &m.st.Stages[si]
		stageStopping := false
		for gi := range s.Groups {
			g := &s.Groups[gi]
			if g.Status.State != updatesv1alpha1.StateRunning && g.Status.State != updatesv1alpha1.StateStopping {
				continue
			}
			running := false
			for _, ms := range g.Members {
				running = running || ms.Status.State == updatesv1alpha1.StateRunning
			}
			if running {
				g.Status.State = updatesv1alpha1.StateStopping
				stageStopping = true
			} else {
				g.Status.State = updatesv1alpha1.StateStopped
			}
		}
		if w := s.AfterStageWaitStatus; w != nil && w.Status.State == updatesv1alpha1.StateRunning {
			w.Status.State = updatesv1alpha1.StateStopped
		}
		if s.Status.State == updatesv1alpha1.StateRunning || s.Status.State == updatesv1alpha1.StateStopping {
			if stageStopping {
				s.Status.State = updatesv1alpha1.StateStopping
			} else {
				s.Status.State = updatesv1alpha1.StateStopped
			}
		}
		anyStopping = anyStopping || stageStopping
	}
	if m.st.State == updatesv1alpha1.StateFailed {
		return
	}
	if anyStopping {
		m.st.State = updatesv1alpha1.StateStopping
	} else {
		m.st.State = updatesv1alpha1.StateStopped
	}
}

// progress runs the first unfinished stage, and the next ones as each finishes.
func (m *machine) progress() {
	cfg := m.st.StrategySnapshot
	for si := range m.st.Stages {
		s := &m.st.Stages[si]
		if s.Status.State.Terminal() {
			continue
		}
		m.advanceStage(s, &cfg.Stages[si])
		if !s.Status.State.Terminal() {
			return
		}
		if s.Status.State == updatesv1alpha1.StateFailed {
			return
		}
	}
	m.finish(&m.st.Status, updatesv1alpha1.StateCompleted, "")
}

func (m *machine) advanceStage(s *updatesv1alpha1.StageStatus, cfg *updatesv1alpha1.StageConfig) {
	m.begin(&s.Status)
	if !m.gatesPassed(s, cfg.BeforeGates, "", updatesv1alpha1.GateBefore) {
		return
	}
	done := true
	for gi := range s.Groups {
		g := &s.Groups[gi]
		if g.Status.State.Terminal() {
			continue
		}
		m.advanceGroup(s, g, &cfg.Groups[gi], cfg)
		if m.st.State == updatesv1alpha1.StateFailed {
			// A member failed as it was to start (a Consistent run's member its region
			// cannot move to the selected images): nothing more starts.
			return
		}
		done = done && g.Status.State.Terminal()
	}
	if !done {
		return
	}
	// The wait and the after-stage gates run side by side once every group is done.
	waited := m.advanceWait(s, cfg)
	approved := m.gatesPassed(s, cfg.AfterGates, "", updatesv1alpha1.GateAfter)
	if waited && approved {
		m.finish(&s.Status, updatesv1alpha1.StateCompleted, "")
	}
}

func (m *machine) advanceWait(s *updatesv1alpha1.StageStatus, cfg *updatesv1alpha1.StageConfig) bool {
	if cfg.AfterStageWaitInSeconds <= 0 {
		return true
	}
	if s.AfterStageWaitStatus == nil {
		s.AfterStageWaitStatus = &updatesv1alpha1.WaitStatus{WaitDurationInSeconds: cfg.AfterStageWaitInSeconds}
	}
	w := s.AfterStageWaitStatus
	if w.Status.State.Terminal() {
		return true
	}
	m.begin(&w.Status)
	left := stages.WaitLeft(w.Status.StartTime.Time, time.Duration(w.WaitDurationInSeconds)*time.Second, m.now.Time)
	if left == 0 {
		m.finish(&w.Status, updatesv1alpha1.StateCompleted, "")
		return true
	}
	m.requeue(left)
	return false
}

func (m *machine) requeue(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if m.plan.RequeueAfter == 0 || d < m.plan.RequeueAfter {
		m.plan.RequeueAfter = d
	}
}

// gatesPassed records the gates as they are reached and says whether all are approved.
func (m *machine) gatesPassed(s *updatesv1alpha1.StageStatus, gates []updatesv1alpha1.GateConfig, group string, timing updatesv1alpha1.GateTiming) bool {
	passed := true
	for i, gc := range gates {
		name := GateName(m.run.Name, s.Name, group, timing, i)
		gs := gateStatus(s, name)
		if gs == nil {
			s.Gates = append(s.Gates, updatesv1alpha1.GateStatus{Name: name, DisplayName: gc.DisplayName, Group: group, Timing: timing})
			gs = &s.Gates[len(s.Gates)-1]
		}
		if gs.Status.State.Terminal() {
			continue
		}
		m.begin(&gs.Status)
		switch m.facts.Gates[name] {
		case updatesv1alpha1.GateCompleted:
			m.finish(&gs.Status, updatesv1alpha1.StateCompleted, "")
		case updatesv1alpha1.GateSkipped:
			m.finish(&gs.Status, updatesv1alpha1.StateSkipped, "the gate was skipped")
		default:
			passed = false
			m.plan.Gates = append(m.plan.Gates, GateToEnsure{Name: name, DisplayName: gc.DisplayName, Target: updatesv1alpha1.GateTarget{
				UpdateRun: m.run.Name, Stage: s.Name, Group: group, Timing: timing,
			}})
		}
	}
	return passed
}

func gateStatus(s *updatesv1alpha1.StageStatus, name string) *updatesv1alpha1.GateStatus {
	for i := range s.Gates {
		if s.Gates[i].Name == name {
			return &s.Gates[i]
		}
	}
	return nil
}

func (m *machine) advanceGroup(s *updatesv1alpha1.StageStatus, g *updatesv1alpha1.GroupStatus, cfg *updatesv1alpha1.GroupConfig, stage *updatesv1alpha1.StageConfig) {
	m.begin(&g.Status)
	if !m.gatesPassed(s, cfg.BeforeGates, g.Name, updatesv1alpha1.GateBefore) {
		return
	}
	limit := MaxConcurrency(cfg.MaxConcurrency, stage.MaxConcurrency, len(g.Members))
	running := 0
	for _, ms := range g.Members {
		if ms.Status.State == updatesv1alpha1.StateRunning {
			running++
		}
	}
	for mi := range g.Members {
		if running >= limit {
			break
		}
		ms := &g.Members[mi]
		if ms.Status.State != updatesv1alpha1.StateNotStarted {
			continue
		}
		m.startMember(ms)
		if ms.Status.State == updatesv1alpha1.StateFailed {
			m.propagateFailure()
			return
		}
		if ms.Status.State == updatesv1alpha1.StateRunning {
			running++
		}
	}
	for _, ms := range g.Members {
		if !ms.Status.State.Terminal() {
			return
		}
	}
	if m.gatesPassed(s, cfg.AfterGates, g.Name, updatesv1alpha1.GateAfter) {
		m.finish(&g.Status, updatesv1alpha1.StateCompleted, "")
	}
}

// startMember starts a member's operation, or passes it over: Skipped when it is at the
// target already (no provider call), Pending when its region does not offer the target
// (Failed, for a Consistent run: see passOver).
func (m *machine) startMember(ms *updatesv1alpha1.MemberStatus) {
	mf := m.facts.Members[ms.Name]
	if mf == nil {
		m.finish(&ms.Status, updatesv1alpha1.StatePending, "the MemberCluster is gone or no longer has an upgrade provider")
		return
	}
	t := memberTarget(m.run, m.selected(), mf)
	switch {
	case t.pending != "":
		m.passOver(ms, t.pending)
	case t.atTarget:
		m.finish(&ms.Status, updatesv1alpha1.StateSkipped, "already at the target; no operation needed")
	default:
		m.begin(&ms.Status)
		ms.Operation = m.run.Name
		m.plan.Operations = append(m.plan.Operations, Operation{Member: ms.Name, Spec: t.spec})
	}
}

// MaxConcurrency resolves a group's maxConcurrency (falling back to its stage's, then 1)
// for a group of n members: a percentage is rounded down, and is at least 1.
func MaxConcurrency(group, stage *intstr.IntOrString, n int) int {
	if group != nil {
		return stages.Concurrency(group, n)
	}
	return stages.Concurrency(stage, n)
}

// applySkips carries out spec.skip. A running member that is skipped is marked Skipped at
// once and its group moves on; its operation, already handed to the provider, finishes.
// Targets that name nothing are listed in status.unknownSkipTargets, so a typo does not pass
// unnoticed.
func (m *machine) applySkips() {
	m.st.UnknownSkipTargets = nil
	for _, sk := range m.run.Spec.Skip {
		found := false
		switch sk.Type {
		case updatesv1alpha1.SkipStage:
			for si := range m.st.Stages {
				if s := &m.st.Stages[si]; s.Name == sk.Name {
					found = true
					m.skipStage(s, si)
				}
			}
		case updatesv1alpha1.SkipGroup:
			for si := range m.st.Stages {
				s := &m.st.Stages[si]
				for gi := range s.Groups {
					if g := &s.Groups[gi]; g.Name == sk.Name {
						found = true
						m.skipGroup(s, g, "skipped by the user")
					}
				}
			}
		case updatesv1alpha1.SkipMember:
			m.eachMember(func(_ *updatesv1alpha1.StageStatus, _ *updatesv1alpha1.GroupStatus, ms *updatesv1alpha1.MemberStatus) {
				if ms.Name == sk.Name {
					found = true
					m.skipMember(ms, "skipped by the user")
				}
			})
		case updatesv1alpha1.SkipAfterStageWait:
			for si := range m.st.Stages {
				if s := &m.st.Stages[si]; s.Name == sk.Name && m.st.StrategySnapshot.Stages[si].AfterStageWaitInSeconds > 0 {
					found = true
					m.skipWait(s, si)
				}
			}
		}
		if !found {
			m.st.UnknownSkipTargets = append(m.st.UnknownSkipTargets, sk)
		}
	}
}

func (m *machine) skipStage(s *updatesv1alpha1.StageStatus, index int) {
	if s.Status.State.Terminal() {
		return
	}
	for gi := range s.Groups {
		m.skipGroup(s, &s.Groups[gi], "skipped with its stage")
	}
	m.skipWait(s, index)
	m.skipGates(s, "")
	m.finish(&s.Status, updatesv1alpha1.StateSkipped, "skipped by the user")
}

func (m *machine) skipWait(s *updatesv1alpha1.StageStatus, index int) {
	cfg := m.st.StrategySnapshot.Stages[index]
	if cfg.AfterStageWaitInSeconds <= 0 {
		return
	}
	if s.AfterStageWaitStatus == nil {
		s.AfterStageWaitStatus = &updatesv1alpha1.WaitStatus{WaitDurationInSeconds: cfg.AfterStageWaitInSeconds}
	}
	if w := &s.AfterStageWaitStatus.Status; !w.State.Terminal() {
		m.finish(w, updatesv1alpha1.StateSkipped, "skipped by the user")
	}
}

func (m *machine) skipGroup(s *updatesv1alpha1.StageStatus, g *updatesv1alpha1.GroupStatus, why string) {
	if g.Status.State.Terminal() {
		return
	}
	for mi := range g.Members {
		m.skipMember(&g.Members[mi], why)
	}
	m.skipGates(s, g.Name)
	m.finish(&g.Status, updatesv1alpha1.StateSkipped, why)
}

func (m *machine) skipMember(ms *updatesv1alpha1.MemberStatus, why string) {
	switch ms.Status.State {
	case updatesv1alpha1.StateNotStarted:
		m.finish(&ms.Status, updatesv1alpha1.StateSkipped, why)
	case updatesv1alpha1.StateRunning:
		m.finish(&ms.Status, updatesv1alpha1.StateSkipped, why+"; the operation already running on the member finishes")
	}
}

// skipGates marks the reached, unapproved gates of a stage (group empty) or group Skipped,
// and asks the reconciler to mark their Gate objects Skipped too.
func (m *machine) skipGates(s *updatesv1alpha1.StageStatus, group string) {
	for i := range s.Gates {
		gs := &s.Gates[i]
		if gs.Group != group || gs.Status.State.Terminal() {
			continue
		}
		m.finish(&gs.Status, updatesv1alpha1.StateSkipped, "skipped with its "+map[bool]string{true: "stage", false: "group"}[group == ""])
		m.plan.SkipGates = append(m.plan.SkipGates, gs.Name)
	}
}

// passOver ends a member whose target its region does not offer. A Latest run leaves it
// Pending and goes on. A Consistent run fails it: it promises every member the selected
// images, so it may neither move this one to another image nor report Completed while
// this one stays off them.
func (m *machine) passOver(ms *updatesv1alpha1.MemberStatus, why string) {
	if !isConsistent(m.run) {
		m.finish(&ms.Status, updatesv1alpha1.StatePending, why)
		return
	}
	m.finish(&ms.Status, updatesv1alpha1.StateFailed, why+
		"; a Consistent run gives every member the selected images or fails: skip the member (spec.skip) or start a new run")
}
