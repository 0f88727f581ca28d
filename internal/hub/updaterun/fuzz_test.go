package updaterun

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

// fuzzStrategy builds a strategy and a fleet from fuzz bytes. Each byte of stages is one
// stage: its number of groups (1-3), whether it waits after itself, whether it has a before
// or an after gate, and its maxConcurrency (none, a number or a percentage). Each byte of
// members is one member and names its group, which may be in no stage at all.
func fuzzStrategy(stages, members []byte) (*u.UpdateStrategySpec, []*MemberFacts) {
	stages = stages[:min(len(stages), 4)]
	members = members[:min(len(members), 16)]
	concurrency := func(b byte) *intstr.IntOrString {
		switch b % 4 {
		case 1:
			v := intstr.FromInt32(int32(b>>2)%4 + 1)
			return &v
		case 2:
			v := intstr.FromString(fmt.Sprintf("%d%%", int(b>>2)%100+1))
			return &v
		}
		return nil
	}
	spec := &u.UpdateStrategySpec{}
	groups := 0
	for i, b := range stages {
		st := u.StageConfig{Name: fmt.Sprintf("s%d", i), MaxConcurrency: concurrency(b >> 4)}
		if b&0x04 != 0 {
			st.AfterStageWaitInSeconds = 60
		}
		if b&0x08 != 0 {
			st.BeforeGates = []u.GateConfig{{Type: u.GateTypeApproval}}
		}
		for j := 0; j < int(b%3)+1; j++ {
			g := u.GroupConfig{Name: fmt.Sprintf("g%d", groups), MaxConcurrency: concurrency(b >> (2 * uint(j)))}
			if (b>>uint(j))&0x40 != 0 {
				g.AfterGates = []u.GateConfig{{Type: u.GateTypeApproval}}
			}
			st.Groups = append(st.Groups, g)
			groups++
		}
		spec.Stages = append(spec.Stages, st)
	}
	var fleet []*MemberFacts
	for i, b := range members {
		fleet = append(fleet, member(fmt.Sprintf("m%d", i), fmt.Sprintf("g%d", int(b)%(groups+2))))
	}
	return spec, fleet
}

// FuzzUpdateStrategy runs random strategies to their end, approving every gate and
// completing every operation it starts. Invariants: no group has more members in progress
// than its maxConcurrency (and its stage's) allow; no stage starts a member while an
// earlier stage is not done; every member in a group of the strategy is updated once; and
// the run completes.
func FuzzUpdateStrategy(f *testing.F) {
	f.Add([]byte{0x00}, []byte{0, 0, 0})
	f.Add([]byte{0x15, 0x2e, 0x4b}, []byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{0xff, 0x81}, []byte{9, 9, 1})
	f.Add([]byte{0x06, 0x09, 0x46, 0xc3}, []byte{})
	f.Fuzz(func(t *testing.T, stages, members []byte) {
		if len(stages) == 0 {
			return
		}
		spec, fleet := fuzzStrategy(stages, members)
		s := newSim(t, spec, fleet...)
		s.start()
		updated := map[string]int{}
		for step := 0; step < 400 && !s.run.Status.State.Terminal(); step++ {
			checkProgress(t, s.run, spec)
			for name, op := range s.f.Operations {
				if op.State == "" {
					updated[name]++
				}
			}
			var running []string
			for name, op := range s.f.Operations {
				if op.State == "" {
					running = append(running, name)
				}
			}
			for g, state := range s.f.Gates {
				if state == u.GatePending {
					s.f.Gates[g] = u.GateCompleted
				}
			}
			s.later(time.Minute).complete(running...)
		}
		if s.run.Status.State != u.StateCompleted {
			t.Fatalf("the run ended %q (%s), want Completed; strategy %+v", s.run.Status.State, s.run.Status.Error, spec)
		}
		inStrategy := map[string]bool{}
		for _, st := range spec.Stages {
			for _, g := range st.Groups {
				inStrategy[g.Name] = true
			}
		}
		for _, m := range fleet {
			if inStrategy[m.Group] && updated[m.Name] != 1 {
				t.Fatalf("member %s of group %s was started %d times, want once", m.Name, m.Group, updated[m.Name])
			}
			if !inStrategy[m.Group] && updated[m.Name] != 0 {
				t.Fatalf("member %s of group %s, in no stage, was updated", m.Name, m.Group)
			}
		}
	})
}

// checkProgress asserts the concurrency and order rules on one status.
func checkProgress(t *testing.T, run *u.UpdateRun, spec *u.UpdateStrategySpec) {
	t.Helper()
	earlierDone := true
	for i, st := range run.Status.Stages {
		cfg := spec.Stages[i]
		stageRunning, stageSize := 0, 0
		for j, g := range st.Groups {
			running := 0
			for _, m := range g.Members {
				if m.Status.State == u.StateRunning {
					running++
				}
			}
			stageRunning += running
			stageSize += len(g.Members)
			if limit := MaxConcurrency(cfg.Groups[j].MaxConcurrency, cfg.MaxConcurrency, len(g.Members)); running > limit {
				t.Fatalf("group %s has %d members running, more than its limit %d", g.Name, running, limit)
			}
			if running > 0 && !earlierDone {
				t.Fatalf("stage %s runs members before the stages ahead of it are done", st.Name)
			}
		}
		earlierDone = earlierDone && st.Status.State.Terminal()
	}
}
