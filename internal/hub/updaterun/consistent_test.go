package updaterun

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

func TestChooseConsistent(t *testing.T) {
	withProfile := func(name string, p *u.MemberUpgradeProfileStatus) *MemberFacts {
		return &MemberFacts{Name: name, Profile: p}
	}
	noPools := profile("westus", "1.0", "1.35.0", "2.0")
	noPools.NodePools = nil
	noLatest := profile("westeurope", "1.0", "1.35.0", "")
	twoFamilies := profile("eastus", "1.0", "1.35.0", "3.0")
	twoFamilies.NodePools = append(twoFamilies.NodePools, u.NodePoolProfile{Name: "win", ImageFamily: "Windows", NodeImageVersion: "7"})
	twoFamilies.LatestNodeImages["Windows"] = "9"
	cases := []struct {
		name        string
		members     []*MemberFacts
		wantImages  []u.NodeImageVersion
		wantWaiting []string
	}{
		{name: "the oldest of the regions' newest images",
			members:    []*MemberFacts{withProfile("a", profile("eastus", "1.0", "1.35.0", "2.10.0")), withProfile("b", profile("westus", "1.0", "1.35.0", "2.9.0"))},
			wantImages: []u.NodeImageVersion{{Family: family, Version: "2.9.0"}}},
		{name: "a member without a profile: nothing is chosen from the others",
			members:     []*MemberFacts{withProfile("a", profile("eastus", "1.0", "1.35.0", "2.0")), {Name: "b"}},
			wantWaiting: []string{"b (no MemberUpgradeProfile yet)"}},
		{name: "a profile without node pools is not usable yet",
			members:     []*MemberFacts{withProfile("a", noPools)},
			wantWaiting: []string{"a (its profile lists no node pools)"}},
		{name: "a profile without its region's newest image is not usable yet",
			members:     []*MemberFacts{withProfile("a", noLatest), {Name: "b"}},
			wantWaiting: []string{"a (no newest image of Ubuntu in its profile)", "b (no MemberUpgradeProfile yet)"}},
		{name: "each family its pools use, in family order",
			members:    []*MemberFacts{withProfile("a", twoFamilies), withProfile("b", profile("westus", "1.0", "1.35.0", "2.5"))},
			wantImages: []u.NodeImageVersion{{Family: family, Version: "2.5"}, {Family: "Windows", Version: "9"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := chooseConsistent(tc.members)
			if !reflect.DeepEqual(got.images, tc.wantImages) || !reflect.DeepEqual(got.waiting, tc.wantWaiting) {
				t.Fatalf("chooseConsistent = images %v, waiting %v; want %v, %v", got.images, got.waiting, tc.wantImages, tc.wantWaiting)
			}
		})
	}
}

func consistentSim(t *testing.T, members ...*MemberFacts) *sim {
	t.Helper()
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{{Name: "s", Groups: []u.GroupConfig{{Name: "g", MaxConcurrency: ref(intstr.FromInt32(2))}}}}}
	s := newSim(t, strategy, members...)
	s.run.Spec.ManagedClusterUpdate.NodeImageSelection = &u.NodeImageSelection{Type: u.NodeImageConsistent}
	return s
}

func selectedCondition(t *testing.T, s *sim) metav1.Condition {
	t.Helper()
	c := meta.FindStatusCondition(s.run.Status.Conditions, u.NodeImagesSelectedCondition)
	if c == nil {
		t.Fatalf("no %s condition: %+v", u.NodeImagesSelectedCondition, s.run.Status.Conditions)
	}
	return *c
}

// A run created before a member's profile exists waits, names the member, touches nobody,
// and starts with the common image once the profile arrives.
func TestConsistentWaitsForEveryProfile(t *testing.T) {
	east := member("e", "g")
	east.Profile.LatestNodeImages[family] = "3.0"
	west := &MemberFacts{Name: "w", Group: "g", Provider: "local"}
	s := consistentSim(t, east, west).start()
	if s.run.Status.State != u.StateNotStarted || len(s.plan.Operations) != 0 || s.run.Status.NodeImageSelection != nil {
		t.Fatalf("started without w's profile: state %s, operations %v, selection %v", s.run.Status.State, s.plan.Operations, s.run.Status.NodeImageSelection)
	}
	c := selectedCondition(t, s)
	if c.Status != metav1.ConditionFalse || c.Reason != u.WaitingForUpgradeProfilesReason || !strings.Contains(c.Message, "w (no MemberUpgradeProfile yet)") {
		t.Fatalf("condition %+v", c)
	}
	if s.plan.RequeueAfter == 0 {
		t.Fatal("a waiting run must look again")
	}

	s.later(time.Minute)
	west.Profile = profile("westus", "1.0", "1.35.0", "2.0")
	s.step()
	if s.run.Status.State != u.StateRunning {
		t.Fatalf("state %s after every profile arrived", s.run.Status.State)
	}
	want := []u.NodeImageVersion{{Family: family, Version: "2.0"}}
	if got := s.run.Status.NodeImageSelection.SelectedNodeImageVersions; !reflect.DeepEqual(got, want) {
		t.Fatalf("selected %v, want %v", got, want)
	}
	if c := selectedCondition(t, s); c.Status != metav1.ConditionTrue || c.Reason != u.NodeImagesSelectedReason {
		t.Fatalf("condition %+v", c)
	}
	for _, op := range s.plan.Operations {
		if !reflect.DeepEqual(op.Spec.NodeImageVersions, want) {
			t.Fatalf("%s gets %v, want %v", op.Member, op.Spec.NodeImageVersions, want)
		}
	}
}

func TestConsistentGivesUpAfterItsTimeout(t *testing.T) {
	s := consistentSim(t, member("e", "g"), &MemberFacts{Name: "w", Group: "g", Provider: "local"})
	s.run.Spec.ManagedClusterUpdate.NodeImageSelection.ProfileWaitTimeout = &metav1.Duration{Duration: 3 * time.Minute}
	s.start()
	s.later(2 * time.Minute).step()
	if s.run.Status.State != u.StateNotStarted {
		t.Fatalf("state %s before the timeout", s.run.Status.State)
	}
	s.later(time.Minute).step()
	if s.run.Status.State != u.StateFailed || !strings.Contains(s.run.Status.Error, "w (no MemberUpgradeProfile yet)") ||
		!strings.Contains(s.run.Status.Error, "profileWaitTimeout") {
		t.Fatalf("status after the timeout: %+v", s.run.Status.Status)
	}
	if c := selectedCondition(t, s); c.Reason != u.UpgradeProfilesTimedOutReason {
		t.Fatalf("condition %+v", c)
	}
	if len(s.plan.Operations) != 0 {
		t.Fatalf("a failed run started operations: %v", s.plan.Operations)
	}
}

// An operation that reports success while the profile shows another image does not make the
// member Completed; if the profile never catches up, the member fails, naming the pool.
func TestConsistentCompletesOnlyOnTarget(t *testing.T) {
	a, b := member("a", "g"), member("b", "g")
	s := consistentSim(t, a, b).start()
	a.Profile.NodePools[0].NodeImageVersion = "2.0" // a's provider published the new image
	s.complete("a", "b")
	s.expect("a", s.member("a").Status.State, u.StateCompleted)
	s.expect("b", s.member("b").Status.State, u.StateRunning)
	if !strings.Contains(s.member("b").Message, "node pool pool of b runs Ubuntu-1.0, not the selected Ubuntu-2.0") {
		t.Fatalf("b: %+v", s.member("b"))
	}
	if s.run.Status.State == u.StateCompleted {
		t.Fatal("the run completed while b is off its target")
	}
	s.later(profileCatchUp + time.Second).step()
	s.expect("b", s.member("b").Status.State, u.StateFailed)
	if s.run.Status.State != u.StateFailed {
		t.Fatalf("run state %s", s.run.Status.State)
	}
}

// A member with a pool of a family the selection does not hold gets no target, never its
// own region's newest image (and the run fails it: TestConsistentFailsAMemberItCannotMove).
func TestConsistentNeverMovesToAnotherImage(t *testing.T) {
	a := member("a", "g")
	s := consistentSim(t, a).start()
	s.expect("a", s.member("a").Status.State, u.StateRunning)
	// The member gained a pool of another family after the selection.
	a.Profile.NodePools = append(a.Profile.NodePools, u.NodePoolProfile{Name: "win", ImageFamily: "Windows", NodeImageVersion: "7"})
	a.Profile.LatestNodeImages["Windows"] = "9"
	tgt := memberTarget(s.run, s.run.Status.NodeImageSelection.SelectedNodeImageVersions, a)
	if tgt.pending == "" || !strings.Contains(tgt.pending, "Windows") {
		t.Fatalf("target %+v: want none for the Windows family", tgt)
	}
	for _, v := range tgt.spec.NodeImageVersions {
		if v.Family == "Windows" {
			t.Fatalf("moved to %v", v)
		}
	}
}

// A member whose region, by its turn, no longer offers the selected image is neither moved
// to another image nor passed over as Pending: it fails, and the run with it, so the run
// never reports Completed while the member is off the image every other member got.
func TestConsistentFailsAMemberItCannotMove(t *testing.T) {
	first, second := member("a", "first"), member("b", "second")
	strategy := &u.UpdateStrategySpec{Stages: []u.StageConfig{
		{Name: "one", Groups: []u.GroupConfig{{Name: "first"}}},
		{Name: "two", Groups: []u.GroupConfig{{Name: "second"}}},
	}}
	s := newSim(t, strategy, first, second)
	s.run.Spec.ManagedClusterUpdate.NodeImageSelection = &u.NodeImageSelection{Type: u.NodeImageConsistent}
	s.start()
	want := []u.NodeImageVersion{{Family: family, Version: "2.0"}}
	if got := s.run.Status.NodeImageSelection.SelectedNodeImageVersions; !reflect.DeepEqual(got, want) {
		t.Fatalf("selected %v, want %v", got, want)
	}
	// Before b's turn its region's catalog drops to 1.5.
	second.Profile.Region, second.Profile.LatestNodeImages[family] = "westeurope", "1.5"
	first.Profile.NodePools[0].NodeImageVersion = "2.0"
	s.complete("a")
	s.expect("a", s.member("a").Status.State, u.StateCompleted)
	for _, op := range s.plan.Operations {
		if op.Member == "b" {
			t.Fatalf("b got an operation: %+v", op.Spec)
		}
	}
	s.expect("b", s.member("b").Status.State, u.StateFailed)
	if e := s.member("b").Status.Error; !strings.Contains(e, "node image Ubuntu-2.0 is not offered in region westeurope") || !strings.Contains(e, "spec.skip") {
		t.Fatalf("b's error %q", e)
	}
	s.expect("run", s.run.Status.State, u.StateFailed)
}

// An operation lost after its member started is made again only if it still holds the
// selected images; otherwise the member fails rather than getting a partial operation.
func TestConsistentLostOperationIsNotRemadeOffTarget(t *testing.T) {
	a := member("a", "g")
	s := consistentSim(t, a).start()
	s.expect("a", s.member("a").Status.State, u.StateRunning)
	delete(s.f.Operations, "a")
	a.Profile.NodePools = append(a.Profile.NodePools, u.NodePoolProfile{Name: "win", ImageFamily: "Windows", NodeImageVersion: "7"})
	a.Profile.LatestNodeImages["Windows"] = "9"
	s.step()
	if len(s.plan.Operations) != 0 {
		t.Fatalf("operation made again: %+v", s.plan.Operations)
	}
	s.expect("a", s.member("a").Status.State, u.StateFailed)
	if e := s.member("a").Status.Error; !strings.Contains(e, "Windows") {
		t.Fatalf("a's error %q", e)
	}
	s.expect("run", s.run.Status.State, u.StateFailed)
}
