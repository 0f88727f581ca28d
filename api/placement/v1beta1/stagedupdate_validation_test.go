package v1beta1_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func object(kind, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "placement.kubernetes-fleet.io/v1beta1", "kind": kind,
		"metadata": map[string]any{"name": name}, "spec": spec,
	}}
}

// TestStagedUpdateStrategyValidation checks the rules on stage tasks and maxConcurrency.
func TestStagedUpdateStrategyValidation(t *testing.T) {
	c := hubClient(t)
	stage := func(extra map[string]any) map[string]any {
		s := map[string]any{"name": "canary"}
		for k, v := range extra {
			s[k] = v
		}
		return map[string]any{"stages": []any{s}}
	}
	for _, tc := range []struct {
		name    string
		spec    map[string]any
		refused string
	}{
		{"tasks before and after", stage(map[string]any{"maxConcurrency": "50%",
			"beforeStageTasks": []any{map[string]any{"type": "Approval"}},
			"afterStageTasks":  []any{map[string]any{"type": "TimedWait", "waitTime": "1h30m"}, map[string]any{"type": "Approval"}}}), ""},
		{"an approval with a wait time", stage(map[string]any{"afterStageTasks": []any{map[string]any{"type": "Approval", "waitTime": "1m"}}}), "waitTime is not allowed"},
		{"a timed wait without one", stage(map[string]any{"afterStageTasks": []any{map[string]any{"type": "TimedWait"}}}), "waitTime is required"},
		{"a timed wait before the stage", stage(map[string]any{"beforeStageTasks": []any{map[string]any{"type": "TimedWait", "waitTime": "1m"}}}), "BeforeStageTaskType cannot be TimedWait"},
		{"a wait in days", stage(map[string]any{"afterStageTasks": []any{map[string]any{"type": "TimedWait", "waitTime": "1d"}}}), "waitTime"},
		{"no concurrency", stage(map[string]any{"maxConcurrency": int64(0)}), "maxConcurrency must be at least 1"},
		{"an upper-case stage name", map[string]any{"stages": []any{map[string]any{"name": "Canary"}}}, "stages[0].name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "csus-" + strings.ReplaceAll(tc.name, " ", "-")
			err := c.Create(context.Background(), object("ClusterStagedUpdateStrategy", name, tc.spec))
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("got %v, want a refusal naming %q", err, tc.refused)
			}
		})
	}
}

// TestStagedUpdateRunStateTransitions checks that a run cannot go back to Initialize, nor
// jump from Initialize to Stop, and that what it rolls out cannot change.
func TestStagedUpdateRunStateTransitions(t *testing.T) {
	c := hubClient(t)
	ctx := context.Background()
	run := object("ClusterStagedUpdateRun", "csur-transitions", map[string]any{"placementName": "web", "stagedRolloutStrategyName": "s"})
	if err := c.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	if state, _, _ := unstructured.NestedString(run.Object, "spec", "state"); state != "Initialize" {
		t.Fatalf("spec.state defaulted to %q, want Initialize", state)
	}
	set := func(field, value, refused string) {
		t.Helper()
		u := run.DeepCopy()
		if err := unstructured.SetNestedField(u.Object, value, "spec", field); err != nil {
			t.Fatal(err)
		}
		err := c.Update(ctx, u)
		switch {
		case refused == "" && err != nil:
			t.Fatalf("%s=%s refused: %v", field, value, err)
		case refused == "":
			run = u
		case err == nil || !strings.Contains(err.Error(), refused):
			t.Fatalf("%s=%s: got %v, want a refusal naming %q", field, value, err, refused)
		}
	}
	set("state", "Stop", "cannot transition from Initialize to Stop")
	set("state", "Run", "")
	set("state", "Initialize", "cannot transition from Run to Initialize")
	set("state", "Stop", "")
	set("state", "Initialize", "cannot transition from Stop to Initialize")
	set("placementName", "other", "placementName is immutable")
	set("stagedRolloutStrategyName", "other", "stagedRolloutStrategyName is immutable")
}
