package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

func newUpdateRunCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "updaterun",
		Aliases: []string{"updateruns", "ur"},
		Short:   "Stage upgrades of member clusters: create, start, stop, skip and watch update runs",
		Long: `An UpdateRun upgrades member clusters stage by stage: the Kubernetes version (Full or
ControlPlaneOnly) or only the node images (NodeImageOnly). Stages run one after another;
the groups of a stage run in parallel; the members of a group one at a time, or up to
maxConcurrency. A run follows a strategy (--strategy), inline stages (--stages), or, with
neither, one stage with one group of every member that has an upgrade provider (the
MemberCluster annotation updates.flotilla.dev/provider).

A run is created NotStarted, unless --start is given; 'start' starts or resumes it,
'stop' lets running member operations finish and starts no new ones, 'skip' passes over
members, groups, stages or a stage's wait.`,
	}
	cmd.AddCommand(newUpdateRunCreateCommand(), newUpdateRunStateCommand("start"), newUpdateRunStateCommand("stop"),
		newUpdateRunSkipCommand(), newUpdateRunListCommand(), newUpdateRunShowCommand(), newUpdateRunWatchCommand())
	return cmd
}

func newUpdateRunCreateCommand() *cobra.Command {
	var (
		kubeconfig, upgradeType, version, selection, strategy, stages string
		start                                                         bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME --upgrade-type Full|NodeImageOnly|ControlPlaneOnly",
		Short: "Create an UpdateRun",
		Long: `Create an UpdateRun. --upgrade-type says what changes: Full (control plane, then node
pools, to --kubernetes-version, with new node images), ControlPlaneOnly (the control plane
to --kubernetes-version) or NodeImageOnly (only the node images; no version).
--node-image-selection Latest gives each member its region's newest image; Consistent
gives every member the newest image every region in the run offers.`,
		Example: `  flotilla updaterun create images --upgrade-type NodeImageOnly --node-image-selection Consistent --strategy canary-then-prod
  flotilla updaterun create k8s-136 --upgrade-type Full --kubernetes-version 1.36.1 --stages stages.yaml --start`,
		Args: exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := buildRun(args[0], upgradeType, version, selection, strategy, stages, start)
			if err != nil {
				return err
			}
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			if strategy != "" {
				if err := c.Get(cmd.Context(), client.ObjectKey{Name: strategy}, &updatesv1alpha1.UpdateStrategy{}); apierrors.IsNotFound(err) {
					return usageError{fmt.Errorf("--strategy %s: no such UpdateStrategy; create it with 'flotilla strategy create' or see 'flotilla strategy list'", strategy)}
				}
			}
			if err := c.Create(cmd.Context(), run); err != nil {
				if apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("UpdateRun %s already exists: choose another name", args[0])
				}
				return fmt.Errorf("creating UpdateRun %s: %w", args[0], err)
			}
			state := "created (NotStarted; start it with 'flotilla updaterun start " + args[0] + "')"
			if start {
				state = "created and started"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updaterun %s %s\n", args[0], state)
			return nil
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	f := cmd.Flags()
	f.StringVar(&upgradeType, "upgrade-type", "", "Full, NodeImageOnly or ControlPlaneOnly (required)")
	f.StringVar(&version, "kubernetes-version", "", "target Kubernetes version, such as 1.36.1 (Full and ControlPlaneOnly only)")
	f.StringVar(&selection, "node-image-selection", "Latest", "Latest or Consistent")
	f.StringVar(&strategy, "strategy", "", "name of an UpdateStrategy to copy")
	f.StringVar(&stages, "stages", "", "inline stages instead of a strategy: a JSON or YAML file, or inline JSON")
	f.BoolVar(&start, "start", false, "start the run at once")
	return cmd
}

// buildRun checks the flags and builds the run; each error names its flag and the fix.
func buildRun(name, upgradeType, version, selection, strategy, stages string, start bool) (*updatesv1alpha1.UpdateRun, error) {
	t := updatesv1alpha1.UpgradeType(upgradeType)
	switch t {
	case updatesv1alpha1.UpgradeFull, updatesv1alpha1.UpgradeControlPlaneOnly:
		if version == "" {
			return nil, usageError{fmt.Errorf("--kubernetes-version is required with --upgrade-type %s: give the target, such as 1.36.1", t)}
		}
	case updatesv1alpha1.UpgradeNodeImageOnly:
		if version != "" {
			return nil, usageError{errors.New("--kubernetes-version is not allowed with --upgrade-type NodeImageOnly: drop it, or use --upgrade-type Full")}
		}
	case "":
		return nil, usageError{errors.New("--upgrade-type is required: Full, NodeImageOnly or ControlPlaneOnly")}
	default:
		return nil, usageError{fmt.Errorf("--upgrade-type must be Full, NodeImageOnly or ControlPlaneOnly, not %q", upgradeType)}
	}
	sel := updatesv1alpha1.NodeImageSelectionType(selection)
	if sel != updatesv1alpha1.NodeImageLatest && sel != updatesv1alpha1.NodeImageConsistent {
		return nil, usageError{fmt.Errorf("--node-image-selection must be Latest or Consistent, not %q", selection)}
	}
	if strategy != "" && stages != "" {
		return nil, usageError{errors.New("--strategy and --stages exclude each other: name a strategy or give stages inline")}
	}
	run := &updatesv1alpha1.UpdateRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: updatesv1alpha1.UpdateRunSpec{
			UpdateStrategyName: strategy, State: updatesv1alpha1.RequestNotStarted,
			ManagedClusterUpdate: updatesv1alpha1.ManagedClusterUpdate{
				Upgrade:            updatesv1alpha1.UpgradeSpec{Type: t, KubernetesVersion: version},
				NodeImageSelection: &updatesv1alpha1.NodeImageSelection{Type: sel},
			},
		},
	}
	if stages != "" {
		spec, err := readStages("--stages", stages)
		if err != nil {
			return nil, err
		}
		run.Spec.Strategy = spec
	}
	if start {
		run.Spec.State = updatesv1alpha1.RequestRunning
	}
	return run, nil
}

func getRun(ctx context.Context, c client.Client, name string) (*updatesv1alpha1.UpdateRun, error) {
	run := &updatesv1alpha1.UpdateRun{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, run); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("no UpdateRun %s: see 'flotilla updaterun list'", name)
		}
		return nil, err
	}
	return run, nil
}

// updateSpec changes a run's spec, retrying on conflicts.
func updateSpec(ctx context.Context, c client.Client, name string, change func(*updatesv1alpha1.UpdateRun) error) error {
	for attempt := 0; ; attempt++ {
		run, err := getRun(ctx, c, name)
		if err != nil {
			return err
		}
		if err := change(run); err != nil {
			return err
		}
		err = c.Update(ctx, run)
		if err == nil || !apierrors.IsConflict(err) || attempt == 5 {
			return err
		}
	}
}

func newUpdateRunStateCommand(verb string) *cobra.Command {
	var kubeconfig string
	short := "Start an UpdateRun, or resume a stopped one at its first unfinished member"
	want := updatesv1alpha1.RequestRunning
	if verb == "stop" {
		short = "Stop an UpdateRun: running member operations finish, no new ones start"
		want = updatesv1alpha1.RequestStopped
	}
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			err = updateSpec(cmd.Context(), c, args[0], func(run *updatesv1alpha1.UpdateRun) error {
				switch run.Status.State {
				case updatesv1alpha1.StateCompleted, updatesv1alpha1.StateFailed:
					return fmt.Errorf("UpdateRun %s is %s and cannot be %sed; create a new run", args[0], run.Status.State, verb)
				}
				run.Spec.State = want
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updaterun %s: state set to %s\n", args[0], want)
			return nil
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	return cmd
}

func newUpdateRunSkipCommand() *cobra.Command {
	var (
		kubeconfig string
		targets    []string
	)
	cmd := &cobra.Command{
		Use:   "skip NAME --targets Type:Name ...",
		Short: "Skip members, groups, stages or a stage's after-stage wait",
		Long: `Skip parts of a run. Each target is Type:Name with Type one of Member, Group, Stage or
AfterStageWait (whose Name is the stage's). A skipped stage also skips its groups, members,
gates and wait. A member whose operation is already running is marked Skipped at once and
its group moves on; the operation already handed to the provider finishes on the member.`,
		Example: `  flotilla updaterun skip images --targets Member:member-3
  flotilla updaterun skip images --targets AfterStageWait:canary,Group:europe`,
		Args: exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(targets) == 0 {
				return usageError{errors.New("--targets is required: one or more Type:Name, such as Member:member-3")}
			}
			var skips []updatesv1alpha1.SkipTarget
			for _, t := range targets {
				typ, name, ok := strings.Cut(t, ":")
				st := updatesv1alpha1.SkipType(typ)
				if !ok || name == "" || (st != updatesv1alpha1.SkipMember && st != updatesv1alpha1.SkipGroup && st != updatesv1alpha1.SkipStage && st != updatesv1alpha1.SkipAfterStageWait) {
					return usageError{fmt.Errorf("--targets %q: write Type:Name with Type Member, Group, Stage or AfterStageWait", t)}
				}
				skips = append(skips, updatesv1alpha1.SkipTarget{Type: st, Name: name})
			}
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			err = updateSpec(cmd.Context(), c, args[0], func(run *updatesv1alpha1.UpdateRun) error {
				for _, sk := range skips {
					if msg := unknownTarget(run, sk); msg != "" {
						return usageError{fmt.Errorf("--targets %s:%s: %s", sk.Type, sk.Name, msg)}
					}
					if !hasSkip(run.Spec.Skip, sk) {
						run.Spec.Skip = append(run.Spec.Skip, sk)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updaterun %s: skipping %s\n", args[0], strings.Join(targets, ", "))
			return nil
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	cmd.Flags().StringSliceVar(&targets, "targets", nil, "what to skip, as Type:Name (repeat the flag or separate with commas)")
	return cmd
}

func hasSkip(list []updatesv1alpha1.SkipTarget, sk updatesv1alpha1.SkipTarget) bool {
	for _, s := range list {
		if s == sk {
			return true
		}
	}
	return false
}

// unknownTarget says why a skip target names nothing in the run, or "". Members are known
// once the run started; before, any member name is accepted.
func unknownTarget(run *updatesv1alpha1.UpdateRun, sk updatesv1alpha1.SkipTarget) string {
	var stages, groups, members []string
	for _, s := range run.Status.Stages {
		stages = append(stages, s.Name)
		for _, g := range s.Groups {
			groups = append(groups, g.Name)
			for _, m := range g.Members {
				members = append(members, m.Name)
			}
		}
	}
	if len(stages) == 0 {
		return ""
	}
	var known []string
	switch sk.Type {
	case updatesv1alpha1.SkipStage, updatesv1alpha1.SkipAfterStageWait:
		known = stages
	case updatesv1alpha1.SkipGroup:
		known = groups
	case updatesv1alpha1.SkipMember:
		if run.Status.State == updatesv1alpha1.StateNotStarted {
			return ""
		}
		known = members
	}
	for _, k := range known {
		if k == sk.Name {
			return ""
		}
	}
	return fmt.Sprintf("the run has no %s of that name (it has: %s)", strings.ToLower(string(sk.Type)), strings.Join(known, ", "))
}

func newUpdateRunListCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the UpdateRuns with their state and progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			var list updatesv1alpha1.UpdateRunList
			if err := c.List(cmd.Context(), &list); err != nil {
				return fmt.Errorf("listing updateruns on the hub: %w", err)
			}
			sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
			now := time.Now()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tDESIRED\tUPGRADE\tSTAGES\tMEMBERS-DONE\tDURATION\tAGE")
			for _, r := range list.Items {
				done, total := memberCounts(&r)
				upgrade := string(r.Spec.ManagedClusterUpdate.Upgrade.Type)
				if v := r.Spec.ManagedClusterUpdate.Upgrade.KubernetesVersion; v != "" {
					upgrade += " " + v
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d/%d\t%s\t%s\n", r.Name, stateOf(r.Status.Status), r.Spec.State, upgrade,
					len(r.Status.Stages), done, total, orNone(took(r.Status.Status, now)), age(r.CreationTimestamp.Time, now))
			}
			return tw.Flush()
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	return cmd
}

func memberCounts(run *updatesv1alpha1.UpdateRun) (done, total int) {
	for _, s := range run.Status.Stages {
		for _, g := range s.Groups {
			for _, m := range g.Members {
				total++
				if m.Status.State.Terminal() {
					done++
				}
			}
		}
	}
	return done, total
}

func newUpdateRunShowCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Draw an UpdateRun as a tree of stages, groups, members, gates and waits",
		Long: `Draw the run as a tree: each stage, its gates, groups and members, and its wait, with
each one's state and how long it took (or has taken so far), and the provider's last
message for each member.`,
		Args: exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			run, err := getRun(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			printRunTree(cmd.OutOrStdout(), run, time.Now())
			return nil
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	return cmd
}
