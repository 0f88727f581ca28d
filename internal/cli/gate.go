package cli

import (
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

func newGateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "gate",
		Aliases: []string{"gates"},
		Short:   "List and approve the approval gates of update runs",
		Long: `An update run creates a Gate for each approval gate it reaches, before or after a stage
or group, and waits until the gate is approved. Gates are named
<run>.<stage>[.<group>].<before|after>-<n>.`,
	}
	cmd.AddCommand(newGateListCommand(), newGateApproveCommand())
	return cmd
}

func newGateListCommand() *cobra.Command {
	var (
		kubeconfig, run string
		pending         bool
	)
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List gates, optionally of one run or only those waiting",
		Example: "  flotilla gate list --run images --pending",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			var list updatesv1alpha1.GateList
			var opts []client.ListOption
			if run != "" {
				opts = append(opts, client.MatchingLabels{updatesv1alpha1.RunLabel: run})
			}
			if err := c.List(cmd.Context(), &list, opts...); err != nil {
				return fmt.Errorf("listing gates on the hub: %w", err)
			}
			sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].CreationTimestamp.Before(&list.Items[j].CreationTimestamp) })
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tRUN\tSTAGE\tGROUP\tTIMING\tSTATE\tDISPLAY-NAME\tAGE")
			for _, g := range list.Items {
				if pending && g.Spec.State != updatesv1alpha1.GatePending {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, g.Spec.Target.UpdateRun, g.Spec.Target.Stage,
					orNone(g.Spec.Target.Group), g.Spec.Target.Timing, g.Spec.State, orNone(g.Spec.DisplayName), age(g.CreationTimestamp.Time, time.Now()))
			}
			return tw.Flush()
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	cmd.Flags().StringVar(&run, "run", "", "only the gates of this UpdateRun")
	cmd.Flags().BoolVar(&pending, "pending", false, "only the gates waiting for approval")
	return cmd
}

func newGateApproveCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:     "approve NAME...",
		Short:   "Approve gates, so their runs go on",
		Example: "  flotilla gate approve images.prod.before-1",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("name at least one gate to approve; see 'flotilla gate list --pending'")}
			}
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			for _, name := range args {
				g := &updatesv1alpha1.Gate{}
				if err := c.Get(cmd.Context(), client.ObjectKey{Name: name}, g); err != nil {
					if apierrors.IsNotFound(err) {
						return fmt.Errorf("no gate %s: see 'flotilla gate list'", name)
					}
					return err
				}
				if g.Spec.State != updatesv1alpha1.GatePending {
					fmt.Fprintf(cmd.OutOrStdout(), "gate %s is already %s\n", name, g.Spec.State)
					continue
				}
				before := g.DeepCopy()
				g.Spec.State = updatesv1alpha1.GateCompleted
				if err := c.Patch(cmd.Context(), g, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
					return fmt.Errorf("approving gate %s: %w", name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "gate %s approved: run %s goes on\n", name, g.Spec.Target.UpdateRun)
			}
			return nil
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	return cmd
}
