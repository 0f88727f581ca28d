package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

// printRunTree draws a run:
//
//	updaterun images: Completed in 13.2s (NodeImageOnly, Consistent)
//	├─ stage canary: Completed in 8.1s
//	│  ├─ group canary: Completed in 3.0s
//	│  │  └─ member-1: Completed in 3.0s: all 3 nodes upgraded
//	│  └─ wait 5s: Completed in 5.0s
//	└─ stage prod: …
func printRunTree(w io.Writer, run *updatesv1alpha1.UpdateRun, now time.Time) {
	up := run.Spec.ManagedClusterUpdate
	what := string(up.Upgrade.Type)
	if up.Upgrade.KubernetesVersion != "" {
		what += " to " + up.Upgrade.KubernetesVersion
	}
	if up.NodeImageSelection != nil && up.Upgrade.Type != updatesv1alpha1.UpgradeControlPlaneOnly {
		what += ", " + string(up.NodeImageSelection.Type) + " node images"
	}
	fmt.Fprintf(w, "updaterun %s: %s (%s)\n", run.Name, describe(run.Status.Status, now), what)
	if sel := run.Status.NodeImageSelection; sel != nil {
		for _, v := range sel.SelectedNodeImageVersions {
			fmt.Fprintf(w, "   selected node image: %s-%s\n", v.Family, v.Version)
		}
	}
	if run.Status.State == updatesv1alpha1.StateNotStarted && run.Status.Error != "" {
		fmt.Fprintf(w, "   %s\n", run.Status.Error)
	}
	if c := meta.FindStatusCondition(run.Status.Conditions, updatesv1alpha1.NodeImagesSelectedCondition); c != nil &&
		c.Reason == updatesv1alpha1.WaitingForUpgradeProfilesReason {
		// A Consistent run that waits shows why none of its stages moves.
		fmt.Fprintf(w, "   %s\n", c.Message)
	}
	for _, sk := range run.Status.UnknownSkipTargets {
		fmt.Fprintf(w, "   warning: skip %s:%s names nothing in this run and has no effect\n", sk.Type, sk.Name)
	}
	for si, s := range run.Status.Stages {
		lastStage := si == len(run.Status.Stages)-1
		fmt.Fprintf(w, "%s stage %s: %s\n", branch(lastStage), s.Name, describe(s.Status, now))
		type line struct {
			text     string
			children []string
		}
		var lines []line
		for _, gate := range s.Gates {
			if gate.Group == "" && gate.Timing == updatesv1alpha1.GateBefore {
				lines = append(lines, line{text: gateLine(gate, now)})
			}
		}
		for _, g := range s.Groups {
			l := line{text: "group " + g.Name + ": " + describe(g.Status, now)}
			for _, gate := range s.Gates {
				if gate.Group == g.Name {
					l.children = append(l.children, gateLine(gate, now))
				}
			}
			for _, m := range g.Members {
				text := m.Name + ": " + describe(m.Status, now)
				if m.Message != "" && m.Status.Error == "" {
					text += ": " + m.Message
				}
				l.children = append(l.children, text)
			}
			if len(g.Members) == 0 && run.Status.State != updatesv1alpha1.StateNotStarted {
				l.children = append(l.children, "(no members: label MemberClusters updates.flotilla.dev/group="+g.Name+")")
			}
			lines = append(lines, l)
		}
		for _, gate := range s.Gates {
			if gate.Group == "" && gate.Timing == updatesv1alpha1.GateAfter {
				lines = append(lines, line{text: gateLine(gate, now)})
			}
		}
		if ws := s.AfterStageWaitStatus; ws != nil {
			lines = append(lines, line{text: fmt.Sprintf("wait %ds: %s", ws.WaitDurationInSeconds, describe(ws.Status, now))})
		}
		for li, l := range lines {
			last := li == len(lines)-1
			fmt.Fprintf(w, "%s%s %s\n", stem(lastStage), branch(last), l.text)
			for ci, child := range l.children {
				fmt.Fprintf(w, "%s%s%s %s\n", stem(lastStage), stem(last), branch(ci == len(l.children)-1), child)
			}
		}
	}
}

func gateLine(g updatesv1alpha1.GateStatus, now time.Time) string {
	name := strings.ToLower(string(g.Timing)) + " gate " + g.Name
	if g.DisplayName != "" {
		name += " (" + g.DisplayName + ")"
	}
	if g.Status.State == updatesv1alpha1.StateRunning {
		return name + ": waiting for approval for " + took(g.Status, now) + " (flotilla gate approve " + g.Name + ")"
	}
	return name + ": " + describe(g.Status, now)
}

// describe is a state with its duration and, if any, why.
func describe(s updatesv1alpha1.Status, now time.Time) string {
	out := stateOf(s)
	if d := took(s, now); d != "" {
		if s.CompletedTime != nil {
			out += " in " + d
		} else {
			out += " for " + d
		}
	}
	if s.Error != "" {
		out += ": " + s.Error
	}
	return out
}

func newUpdateRunWatchCommand() *cobra.Command {
	var (
		kubeconfig string
		interval   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch NAME",
		Short: "Follow an UpdateRun live until it is Completed, Failed or Stopped, then summarize it",
		Long: `Print a line for every change of the run, its stages, groups, members, gates and waits
as it happens, until the run is Completed, Failed or Stopped; then draw the run's tree and
a summary. It exits 1 when the run failed.`,
		Args: exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return usageError{fmt.Errorf("--interval must be positive, not %s", interval)}
			}
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			return watchRun(cmd.Context(), cmd.OutOrStdout(), func(ctx context.Context) (*updatesv1alpha1.UpdateRun, error) {
				return getRun(ctx, c, args[0])
			}, interval)
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	cmd.Flags().DurationVar(&interval, "interval", 500*time.Millisecond, "how often to read the run")
	return cmd
}

func watchRun(ctx context.Context, w io.Writer, read func(context.Context) (*updatesv1alpha1.UpdateRun, error), interval time.Duration) error {
	seen := map[string]string{}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	start := time.Now()
	for {
		run, err := read(ctx)
		if err != nil {
			return err
		}
		for _, ch := range changes(run, seen) {
			fmt.Fprintf(w, "%s  %s\n", time.Now().Format("15:04:05.0"), ch)
		}
		switch run.Status.State {
		case updatesv1alpha1.StateCompleted, updatesv1alpha1.StateFailed, updatesv1alpha1.StateStopped:
			fmt.Fprintln(w)
			printRunTree(w, run, time.Now())
			done, total := memberCounts(run)
			counts := map[updatesv1alpha1.State]int{}
			for _, s := range run.Status.Stages {
				for _, g := range s.Groups {
					for _, m := range g.Members {
						counts[m.Status.State]++
					}
				}
			}
			var parts []string
			for _, st := range []updatesv1alpha1.State{updatesv1alpha1.StateCompleted, updatesv1alpha1.StateSkipped, updatesv1alpha1.StatePending,
				updatesv1alpha1.StateFailed, updatesv1alpha1.StateRunning, updatesv1alpha1.StateNotStarted} {
				if counts[st] > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", counts[st], strings.ToLower(string(st))))
				}
			}
			fmt.Fprintf(w, "\nsummary: run %s %s; %d of %d members done (%s); watched for %s\n", run.Name, run.Status.State,
				done, total, strings.Join(parts, ", "), time.Since(start).Round(100*time.Millisecond))
			if run.Status.State == updatesv1alpha1.StateFailed {
				return fmt.Errorf("update run %s failed: %s", run.Name, run.Status.Error)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// changes lists what changed since the last look, and remembers the new states.
func changes(run *updatesv1alpha1.UpdateRun, seen map[string]string) []string {
	var out []string
	note := func(key, state, extra string) {
		if seen[key] == state {
			return
		}
		seen[key] = state
		if extra != "" {
			state += ": " + extra
		}
		out = append(out, key+" "+state)
	}
	note("run "+run.Name, stateOf(run.Status.Status), run.Status.Error)
	for _, s := range run.Status.Stages {
		note("stage "+s.Name, stateOf(s.Status), s.Status.Error)
		for _, gate := range s.Gates {
			extra := gate.Status.Error
			if gate.Status.State == updatesv1alpha1.StateRunning {
				extra = "waiting for approval: flotilla gate approve " + gate.Name
			}
			note("gate "+gate.Name, stateOf(gate.Status), extra)
		}
		for _, g := range s.Groups {
			note("group "+g.Name, stateOf(g.Status), g.Status.Error)
			for _, m := range g.Members {
				extra := m.Status.Error
				if extra == "" && m.Status.State == updatesv1alpha1.StateCompleted {
					extra = m.Message
				}
				note("member "+m.Name, stateOf(m.Status), extra)
			}
		}
		if ws := s.AfterStageWaitStatus; ws != nil {
			note(fmt.Sprintf("wait after %s (%ds)", s.Name, ws.WaitDurationInSeconds), stateOf(ws.Status), "")
		}
	}
	return out
}
