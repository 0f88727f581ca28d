package rollout

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type bopt func(*placementv1beta1.ClusterResourceBinding)

func binding(cluster string, state placementv1beta1.BindingState, opts ...bopt) placementv1beta1.BindingObj {
	b := &placementv1beta1.ClusterResourceBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "b-" + cluster, Generation: 2},
		Spec:       placementv1beta1.ResourceBindingSpec{State: state, TargetCluster: cluster},
	}
	if state != placementv1beta1.BindingStateScheduled {
		b.Spec.ResourceSnapshotName = "p-0-snapshot"
		b.Spec.ApplyStrategy = (*placementv1beta1.ApplyStrategy)(nil).Defaulted()
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

func at(snap string) bopt {
	return func(b *placementv1beta1.ClusterResourceBinding) { b.Spec.ResourceSnapshotName = snap }
}

func availableFor(reason string, since time.Duration) bopt {
	return func(b *placementv1beta1.ClusterResourceBinding) {
		b.Status.Conditions = append(b.Status.Conditions, metav1.Condition{Type: "Available", Status: metav1.ConditionTrue,
			Reason: reason, ObservedGeneration: b.Generation, LastTransitionTime: metav1.NewTime(now.Add(-since))})
	}
}

var available = availableFor(placementv1beta1.AvailableReason, time.Hour)

func names(bs []placementv1beta1.BindingObj) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.GetBindingSpec().TargetCluster)
	}
	return out
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

func TestFirstRolloutBindsEverythingAtOnce(t *testing.T) {
	var bs []placementv1beta1.BindingObj
	for _, c := range []string{"a", "b", "c", "d"} {
		bs = append(bs, binding(c, placementv1beta1.BindingStateScheduled))
	}
	p := MakePlan(bs, Target{Snapshot: "p-0-snapshot"}, nil, now)
	// Nothing holds the placement yet: 4 wanted + 25% surge (1) leaves room for all 4.
	eq(t, "bind", names(p.Bind), []string{"a", "b", "c", "d"})
}

func TestUpdateRespectsMaxUnavailable(t *testing.T) {
	var bs []placementv1beta1.BindingObj
	for _, c := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		bs = append(bs, binding(c, placementv1beta1.BindingStateBound, available))
	}
	// 25% of 8 is 2 at a time.
	p := MakePlan(bs, Target{Snapshot: "p-1-snapshot"}, nil, now)
	eq(t, "update", names(p.Update), []string{"a", "b"})
	if len(p.Waiting) != 6 {
		t.Fatalf("waiting: %v", p.Waiting)
	}
	// a and b updated but not yet available again: nothing more moves.
	bs[0] = binding("a", placementv1beta1.BindingStateBound, at("p-1-snapshot"))
	bs[1] = binding("b", placementv1beta1.BindingStateBound, at("p-1-snapshot"))
	p = MakePlan(bs, Target{Snapshot: "p-1-snapshot"}, nil, now)
	eq(t, "update", names(p.Update), nil)
	// An explicit maxUnavailable of 4 lets 2 more through.
	four := intstr.FromInt32(4)
	p = MakePlan(bs, Target{Snapshot: "p-1-snapshot"}, &placementv1beta1.RollingUpdateConfig{MaxUnavailable: &four}, now)
	eq(t, "update", names(p.Update), []string{"c", "d"})
}

func TestUnavailableBindingsUpdateFreely(t *testing.T) {
	bs := []placementv1beta1.BindingObj{
		binding("a", placementv1beta1.BindingStateBound),
		binding("b", placementv1beta1.BindingStateBound),
		binding("c", placementv1beta1.BindingStateBound, available),
		binding("d", placementv1beta1.BindingStateBound, available),
	}
	p := MakePlan(bs, Target{Snapshot: "p-1-snapshot"}, nil, now)
	// a and b are not available, so updating them costs nothing; c and d wait: with 2 of 4
	// available and maxUnavailable 1, none of them may go.
	eq(t, "update", names(p.Update), []string{"a", "b"})
}

func TestUntrackableCountsAfterUnavailablePeriod(t *testing.T) {
	period := 30
	ru := &placementv1beta1.RollingUpdateConfig{UnavailablePeriodSeconds: &period}
	bs := []placementv1beta1.BindingObj{
		binding("a", placementv1beta1.BindingStateBound, availableFor(placementv1beta1.WorkNotAvailabilityTrackableReason, 10*time.Second)),
		binding("b", placementv1beta1.BindingStateBound, availableFor(placementv1beta1.WorkNotAvailabilityTrackableReason, time.Minute)),
	}
	if ok, wait := ready(bs[0], 30*time.Second, now); ok || wait != 20*time.Second {
		t.Fatalf("a: ready=%v wait=%v, want not ready for 20s", ok, wait)
	}
	if ok, _ := ready(bs[1], 30*time.Second, now); !ok {
		t.Fatal("b has been available for longer than the period")
	}
	p := MakePlan(bs, Target{Snapshot: "p-0-snapshot"}, ru, now)
	if p.RecheckAfter != 20*time.Second {
		t.Fatalf("recheck after %v, want 20s", p.RecheckAfter)
	}
}

func TestSurgeAndUnscheduledRemoval(t *testing.T) {
	// Relabeling moved the placement from a to b: b binds within surge, a is removed once
	// enough stay available.
	bs := []placementv1beta1.BindingObj{
		binding("a", placementv1beta1.BindingStateUnscheduled, available),
		binding("b", placementv1beta1.BindingStateScheduled),
		binding("c", placementv1beta1.BindingStateBound, available),
		binding("d", placementv1beta1.BindingStateBound, available),
		binding("e", placementv1beta1.BindingStateBound, available),
	}
	zero := intstr.FromInt32(0)
	p := MakePlan(bs, Target{Snapshot: "p-0-snapshot"}, &placementv1beta1.RollingUpdateConfig{MaxSurge: &zero}, now)
	// 4 wanted, 4 hold it (a, c, d, e): no surge room for b yet; 4 available, at least 3
	// must stay: a may go.
	eq(t, "bind", names(p.Bind), nil)
	eq(t, "delete", names(p.Delete), []string{"a"})
	p = MakePlan(bs[1:], Target{Snapshot: "p-0-snapshot"}, &placementv1beta1.RollingUpdateConfig{MaxSurge: &zero}, now)
	eq(t, "bind", names(p.Bind), []string{"b"})
}
