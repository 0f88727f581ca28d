package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

func newStrategyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "strategy",
		Aliases: []string{"strategies"},
		Short:   "Create and look at update strategies: reusable plans of stages",
		Long: `An UpdateStrategy is a reusable plan for update runs: stages that run one after another,
each with groups that run in parallel, an optional wait after the stage and optional
approval gates. Members join a group through the MemberCluster label
updates.flotilla.dev/group=<group>. A run copies its strategy when it is created, so
later edits of the strategy do not change runs that exist.`,
	}
	cmd.AddCommand(newStrategyCreateCommand(), newStrategyListCommand(), newStrategyShowCommand())
	return cmd
}

func newStrategyCreateCommand() *cobra.Command {
	var kubeconfig, stages string
	cmd := &cobra.Command{
		Use:   "create NAME --stages FILE|JSON",
		Short: "Create an UpdateStrategy",
		Long: `Create an UpdateStrategy from --stages: a JSON or YAML file, or inline JSON, holding
either a list of stages or an object with a "stages" list. Each stage is
{name, groups: [{name, maxConcurrency, beforeGates, afterGates}], afterStageWaitInSeconds,
beforeGates, afterGates, maxConcurrency}; each gate is {type: Approval, displayName}.`,
		Example: `  flotilla strategy create canary-then-prod --stages '[
    {"name": "canary", "groups": [{"name": "canary"}], "afterStageWaitInSeconds": 60},
    {"name": "prod", "groups": [{"name": "west"}, {"name": "europe"}],
     "beforeGates": [{"type": "Approval", "displayName": "canary looks good"}]}]'
  flotilla strategy create canary-then-prod --stages examples/updates/stages.yaml`,
		Args: exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if stages == "" {
				return usageError{fmt.Errorf("--stages is required: a file or inline JSON with the stages")}
			}
			spec, err := readStages("--stages", stages)
			if err != nil {
				return err
			}
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			s := &updatesv1alpha1.UpdateStrategy{ObjectMeta: metav1.ObjectMeta{Name: args[0]}, Spec: *spec}
			if err := c.Create(cmd.Context(), s); err != nil {
				if apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("UpdateStrategy %s already exists: choose another name, or delete it first (kubectl delete updatestrategy %s)", args[0], args[0])
				}
				return fmt.Errorf("creating UpdateStrategy %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updatestrategy %s created: %s\n", args[0], describeStages(spec))
			return nil
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	cmd.Flags().StringVar(&stages, "stages", "", "the stages: a JSON or YAML file, or inline JSON (required)")
	return cmd
}

// exactName is the Args check of commands that take one NAME.
func exactName(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("expected exactly one NAME, got %d arguments", len(args))}
	}
	return nil
}

func describeStages(spec *updatesv1alpha1.UpdateStrategySpec) string {
	var parts []string
	for _, s := range spec.Stages {
		var groups []string
		for _, g := range s.Groups {
			groups = append(groups, g.Name)
		}
		part := s.Name + " [" + strings.Join(groups, ", ") + "]"
		if s.AfterStageWaitInSeconds > 0 {
			part += fmt.Sprintf(" +wait %ds", s.AfterStageWaitInSeconds)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " → ")
}

func newStrategyListCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the UpdateStrategies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			var list updatesv1alpha1.UpdateStrategyList
			if err := c.List(cmd.Context(), &list); err != nil {
				return fmt.Errorf("listing updatestrategies on the hub: %w", err)
			}
			sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTAGES\tAGE")
			for _, s := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, describeStages(&s.Spec), age(s.CreationTimestamp.Time, time.Now()))
			}
			return tw.Flush()
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	return cmd
}

func newStrategyShowCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an UpdateStrategy's stages, groups, waits and gates",
		Args:  exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			s := &updatesv1alpha1.UpdateStrategy{}
			if err := c.Get(cmd.Context(), client.ObjectKey{Name: args[0]}, s); err != nil {
				if apierrors.IsNotFound(err) {
					return fmt.Errorf("no UpdateStrategy %s: see 'flotilla strategy list'", args[0])
				}
				return err
			}
			printStrategy(cmd.OutOrStdout(), args[0], &s.Spec)
			return nil
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	return cmd
}

func printStrategy(w io.Writer, name string, spec *updatesv1alpha1.UpdateStrategySpec) {
	fmt.Fprintf(w, "strategy %s\n", name)
	for si, s := range spec.Stages {
		last := si == len(spec.Stages)-1
		fmt.Fprintf(w, "%s stage %s%s\n", branch(last), s.Name, concurrencyNote(s.MaxConcurrency))
		indent := stem(last)
		var lines []string
		for _, gate := range s.BeforeGates {
			lines = append(lines, "before gate: "+gateLabel(gate))
		}
		for _, g := range s.Groups {
			line := "group " + g.Name + concurrencyNote(g.MaxConcurrency)
			for _, gate := range g.BeforeGates {
				line += "; before gate: " + gateLabel(gate)
			}
			for _, gate := range g.AfterGates {
				line += "; after gate: " + gateLabel(gate)
			}
			lines = append(lines, line)
		}
		for _, gate := range s.AfterGates {
			lines = append(lines, "after gate: "+gateLabel(gate))
		}
		if s.AfterStageWaitInSeconds > 0 {
			lines = append(lines, fmt.Sprintf("wait %ds", s.AfterStageWaitInSeconds))
		}
		for i, l := range lines {
			fmt.Fprintf(w, "%s%s %s\n", indent, branch(i == len(lines)-1), l)
		}
	}
}

func gateLabel(g updatesv1alpha1.GateConfig) string {
	if g.DisplayName != "" {
		return string(g.Type) + " (" + g.DisplayName + ")"
	}
	return string(g.Type)
}

func concurrencyNote(v *intstr.IntOrString) string {
	if v == nil {
		return ""
	}
	return " (maxConcurrency " + v.String() + ")"
}

func branch(last bool) string {
	if last {
		return "└─"
	}
	return "├─"
}

func stem(last bool) string {
	if last {
		return "   "
	}
	return "│  "
}
