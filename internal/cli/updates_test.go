package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

func TestBuildRunNamesTheFlag(t *testing.T) {
	cases := []struct {
		args []string // upgradeType, version, selection, strategy, stages
		want string
	}{
		{[]string{"", "", "Latest", "", ""}, "--upgrade-type is required"},
		{[]string{"Patch", "", "Latest", "", ""}, "--upgrade-type must be Full, NodeImageOnly or ControlPlaneOnly"},
		{[]string{"Full", "", "Latest", "", ""}, "--kubernetes-version is required with --upgrade-type Full"},
		{[]string{"NodeImageOnly", "1.36.1", "Latest", "", ""}, "--kubernetes-version is not allowed with --upgrade-type NodeImageOnly"},
		{[]string{"NodeImageOnly", "", "Newest", "", ""}, "--node-image-selection must be Latest or Consistent"},
		{[]string{"NodeImageOnly", "", "Latest", "s", `[{"name":"a","groups":[{"name":"g"}]}]`}, "--strategy and --stages exclude each other"},
		{[]string{"NodeImageOnly", "", "Latest", "", "/no/such/file"}, "--stages \"/no/such/file\" is neither a readable file nor inline JSON"},
		{[]string{"NodeImageOnly", "", "Latest", "", `[{"name":"a"}]`}, "--stages: stage 1 needs a name and at least one group"},
		{[]string{"NodeImageOnly", "", "Latest", "", `[{"name":"a","groups":[{"name":"g"}],"wait":3}]`}, "--stages: not a list of stages"},
	}
	for _, c := range cases {
		_, err := buildRun("r", c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], false)
		var usage usageError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &usage) {
			t.Errorf("buildRun(%q) = %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	run, err := buildRun("r", "Full", "1.36.1", "Consistent", "", `{"stages":[{"name":"a","groups":[{"name":"g"}],"afterStageWaitInSeconds":5}]}`, true)
	if err != nil {
		t.Fatal(err)
	}
	if run.Spec.State != u.RequestRunning || run.Spec.Strategy.Stages[0].AfterStageWaitInSeconds != 5 ||
		run.Spec.ManagedClusterUpdate.NodeImageSelection.Type != u.NodeImageConsistent || run.Spec.ManagedClusterUpdate.Upgrade.KubernetesVersion != "1.36.1" {
		t.Fatalf("run %+v", run.Spec)
	}
}

func TestReadStagesFromAYAMLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stages.yaml")
	if err := os.WriteFile(path, []byte("- name: canary\n  groups:\n  - name: canary\n  afterStageWaitInSeconds: 60\n- name: prod\n  groups:\n  - name: west\n  - name: europe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := readStages("--stages", path)
	if err != nil {
		t.Fatal(err)
	}
	if got := describeStages(spec); got != "canary [canary] +wait 60s → prod [west, europe]" {
		t.Fatalf("stages %q", got)
	}
}

func TestRunTreeAndWatch(t *testing.T) {
	at := func(s int) *metav1.MicroTime {
		v := metav1.NewMicroTime(time.Date(2026, 1, 1, 0, 0, s, 0, time.UTC))
		return &v
	}
	run := &u.UpdateRun{ObjectMeta: metav1.ObjectMeta{Name: "images"}, Spec: u.UpdateRunSpec{ManagedClusterUpdate: u.ManagedClusterUpdate{
		Upgrade: u.UpgradeSpec{Type: u.UpgradeNodeImageOnly}, NodeImageSelection: &u.NodeImageSelection{Type: u.NodeImageConsistent},
	}}}
	run.Status.Status = u.Status{State: u.StateRunning, StartTime: at(0)}
	run.Status.NodeImageSelection = &u.NodeImageSelectionStatus{SelectedNodeImageVersions: []u.NodeImageVersion{{Family: "Ubuntu", Version: "2"}}}
	run.Status.UnknownSkipTargets = []u.SkipTarget{{Type: u.SkipMember, Name: "member-9"}}
	run.Status.Stages = []u.StageStatus{{
		Name: "canary", Status: u.Status{State: u.StateCompleted, StartTime: at(0), CompletedTime: at(8)},
		AfterStageWaitStatus: &u.WaitStatus{WaitDurationInSeconds: 5, Status: u.Status{State: u.StateCompleted, StartTime: at(3), CompletedTime: at(8)}},
		Groups: []u.GroupStatus{{Name: "canary", Status: u.Status{State: u.StateCompleted, StartTime: at(0), CompletedTime: at(3)},
			Members: []u.MemberStatus{{Name: "member-1", Status: u.Status{State: u.StateCompleted, StartTime: at(0), CompletedTime: at(3)}, Message: "all 3 nodes upgraded"}}}},
	}, {
		Name: "prod", Status: u.Status{State: u.StateRunning, StartTime: at(8)},
		Gates: []u.GateStatus{{Name: "images.prod.before-1", Timing: u.GateBefore, Status: u.Status{State: u.StateRunning, StartTime: at(8)}}},
		Groups: []u.GroupStatus{{Name: "west", Status: u.Status{State: u.StateNotStarted},
			Members: []u.MemberStatus{{Name: "member-2", Status: u.Status{State: u.StatePending, StartTime: at(9), CompletedTime: at(9), Error: "not offered"}}}}},
	}}
	var out bytes.Buffer
	printRunTree(&out, run, time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC))
	want := `updaterun images: Running for 10s (NodeImageOnly, Consistent node images)
   selected node image: Ubuntu-2
   warning: skip Member:member-9 names nothing in this run and has no effect
├─ stage canary: Completed in 8s
│  ├─ group canary: Completed in 3s
│  │  └─ member-1: Completed in 3s: all 3 nodes upgraded
│  └─ wait 5s: Completed in 5s
└─ stage prod: Running for 2s
   ├─ before gate images.prod.before-1: waiting for approval for 2s (flotilla gate approve images.prod.before-1)
   └─ group west: NotStarted
      └─ member-2: Pending in 0s: not offered
`
	if out.String() != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", out.String(), want)
	}

	// watch prints each change once, then the tree and a summary at the end.
	reads := 0
	read := func(context.Context) (*u.UpdateRun, error) {
		reads++
		r := run.DeepCopy()
		if reads >= 2 {
			r.Status.Stages[1].Groups[0].Members[0].Status.Error = "not offered"
			r.Status.State = u.StateCompleted
			r.Status.CompletedTime = at(12)
		}
		return r, nil
	}
	out.Reset()
	if err := watchRun(context.Background(), &out, read, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, s := range []string{"run images Running", "gate images.prod.before-1 Running: waiting for approval", "member member-2 Pending: not offered",
		"run images Completed", "summary: run images Completed; 2 of 2 members done (1 completed, 1 pending)"} {
		if !strings.Contains(text, s) {
			t.Errorf("watch output lacks %q:\n%s", s, text)
		}
	}
	if strings.Count(text, "member member-1 Completed") != 1 {
		t.Errorf("a change was printed more than once:\n%s", text)
	}
}

func TestRunTreeShowsTheWaitForProfiles(t *testing.T) {
	run := &u.UpdateRun{ObjectMeta: metav1.ObjectMeta{Name: "images"}, Spec: u.UpdateRunSpec{ManagedClusterUpdate: u.ManagedClusterUpdate{
		Upgrade: u.UpgradeSpec{Type: u.UpgradeNodeImageOnly}, NodeImageSelection: &u.NodeImageSelection{Type: u.NodeImageConsistent},
	}}}
	run.Status.Status = u.Status{State: u.StateNotStarted}
	const waiting = "waiting for member-3 (no MemberUpgradeProfile yet); the run starts once every member has published its profile"
	run.Status.Conditions = []metav1.Condition{{Type: u.NodeImagesSelectedCondition, Status: metav1.ConditionFalse,
		Reason: u.WaitingForUpgradeProfilesReason, Message: waiting}}
	var out bytes.Buffer
	printRunTree(&out, run, time.Now())
	if !strings.Contains(out.String(), "\n   "+waiting+"\n") {
		t.Fatalf("tree:\n%s", out.String())
	}
	run.Status.Conditions[0].Status, run.Status.Conditions[0].Reason = metav1.ConditionTrue, u.NodeImagesSelectedReason
	out.Reset()
	printRunTree(&out, run, time.Now())
	if strings.Contains(out.String(), "waiting for") {
		t.Fatalf("a finished wait still shows:\n%s", out.String())
	}
}
