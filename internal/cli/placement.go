package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func newPlacementCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "placement",
		Aliases: []string{"placements", "crp"},
		Short:   "Look at ClusterResourcePlacements and where their resources landed",
	}
	cmd.AddCommand(newPlacementListCommand(), newPlacementStatusCommand())
	return cmd
}

// placementRow is one placement as `placement list` shows it; -o json and -o yaml print these.
type placementRow struct {
	Name      string    `json:"name"`
	Policy    string    `json:"policy"`
	Chosen    int       `json:"chosen"`
	Wanted    string    `json:"wanted"`
	Applied   int       `json:"applied"`
	Available int       `json:"available"`
	Created   time.Time `json:"created"`
}

func newPlacementListCommand() *cobra.Command {
	var kubeconfig, output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the placements with how many clusters they chose and reached",
		Long: `List the ClusterResourcePlacements on the hub: the policy, the clusters chosen out of the
clusters wanted (PickAll wants every cluster that fits), how many clusters applied the
resources and have them available, and the age. -o json or -o yaml prints the same rows.`,
		Example: `  flotilla placement list --kubeconfig hub.kubeconfig
  flotilla placement list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			var list placementv1beta1.ClusterResourcePlacementList
			if err := c.List(cmd.Context(), &list); err != nil {
				return fmt.Errorf("listing clusterresourceplacements on the hub: %w", err)
			}
			return printPlacements(cmd.OutOrStdout(), placementRows(list.Items), output, time.Now())
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the hub (default: KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

func policyOf(p *placementv1beta1.ClusterResourcePlacement) (string, string) {
	pol := p.Spec.Policy
	switch {
	case pol == nil || pol.PlacementType == "" || pol.PlacementType == placementv1beta1.PickAllPlacementType:
		return string(placementv1beta1.PickAllPlacementType), "all"
	case pol.PlacementType == placementv1beta1.PickNPlacementType && pol.NumberOfClusters != nil:
		return string(pol.PlacementType), fmt.Sprint(*pol.NumberOfClusters)
	default:
		return string(pol.PlacementType), fmt.Sprint(len(pol.ClusterNames))
	}
}

func placementRows(items []placementv1beta1.ClusterResourcePlacement) []placementRow {
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	rows := make([]placementRow, 0, len(items))
	for i := range items {
		p := &items[i]
		row := placementRow{Name: p.Name, Created: p.CreationTimestamp.UTC()}
		row.Policy, row.Wanted = policyOf(p)
		for _, ps := range p.Status.PlacementStatuses {
			if isTrue(ps.Conditions, string(placementv1beta1.ResourceScheduledConditionType)) && ps.ClusterName != "" {
				row.Chosen++
			}
			if isTrue(ps.Conditions, string(placementv1beta1.ResourcesAppliedConditionType)) {
				row.Applied++
			}
			if isTrue(ps.Conditions, string(placementv1beta1.ResourcesAvailableConditionType)) {
				row.Available++
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func isTrue(conds []metav1.Condition, t string) bool {
	c := meta.FindStatusCondition(conds, t)
	return c != nil && c.Status == metav1.ConditionTrue
}

func printPlacements(w io.Writer, rows []placementRow, output string, now time.Time) error {
	if done, err := printRows(w, rows, output); done {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPOLICY\tCLUSTERS\tAPPLIED\tAVAILABLE\tAGE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d/%s\t%d\t%d\t%s\n", r.Name, r.Policy, r.Chosen, r.Wanted, r.Applied, r.Available,
			duration.HumanDuration(now.Sub(r.Created)))
	}
	return tw.Flush()
}

func newPlacementStatusCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show a placement's conditions, and per cluster, as a tree",
		Long: `Show one ClusterResourcePlacement: its conditions in order (Scheduled, RolloutStarted,
Overridden, WorkSynchronized, Applied, Available), then each cluster with its conditions and
the objects that failed, drifted or differ there, with their messages. Clusters a PickN or
PickFixed policy could not find are listed with why.`,
		Example: `  flotilla placement status shop --kubeconfig hub.kubeconfig`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("placement status takes one NAME (see flotilla placement list), got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			p, err := getPlacement(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			return printPlacementTree(cmd.OutOrStdout(), p)
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the hub (default: KUBECONFIG or ~/.kube/config)")
	return cmd
}

func getPlacement(ctx context.Context, c client.Client, name string) (*placementv1beta1.ClusterResourcePlacement, error) {
	p := &placementv1beta1.ClusterResourcePlacement{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("no ClusterResourcePlacement named %q on the hub; see flotilla placement list", name)
		}
		return nil, fmt.Errorf("reading clusterresourceplacement %s: %w", name, err)
	}
	return p, nil
}

// printPlacementTree prints a placement's status as a tree.
func printPlacementTree(w io.Writer, p *placementv1beta1.ClusterResourcePlacement) error {
	policy, wanted := policyOf(p)
	idx := p.Status.ObservedResourceIndex
	if idx == "" {
		idx = "<none>"
	}
	fmt.Fprintf(w, "%s  policy %s (wants %s)  resource index %s  %d resource(s) selected\n",
		p.Name, policy, wanted, idx, len(p.Status.SelectedResources))
	if len(p.Status.Conditions) == 0 {
		fmt.Fprintln(w, "└─ no status yet: is the hub running?")
		return nil
	}
	for i, c := range p.Status.Conditions {
		last := i == len(p.Status.Conditions)-1 && len(p.Status.PlacementStatuses) == 0
		fmt.Fprintf(w, "%s %s\n", branch(last), conditionLine(c, strings.TrimPrefix(c.Type, "ClusterResourcePlacement")))
	}
	statuses := p.Status.PlacementStatuses
	for i, ps := range statuses {
		last := i == len(statuses)-1
		name := ps.ClusterName
		if name == "" {
			name = "<no cluster>"
		}
		head := "cluster " + name
		if ps.ObservedResourceIndex != "" {
			head += "  (resource index " + ps.ObservedResourceIndex + ")"
		}
		fmt.Fprintf(w, "%s %s\n", branch(last), head)
		pad := "│  "
		if last {
			pad = "   "
		}
		var lines []string
		for _, c := range ps.Conditions {
			lines = append(lines, conditionLine(c, c.Type))
		}
		for _, f := range ps.FailedPlacements {
			lines = append(lines, fmt.Sprintf("failed  %s: %s %s (%s): %s", objectName(f.ResourceIdentifier),
				f.Condition.Type, f.Condition.Status, f.Condition.Reason, f.Condition.Message))
		}
		for _, d := range ps.DriftedPlacements {
			lines = append(lines, fmt.Sprintf("drifted %s: %s", objectName(d.ResourceIdentifier), patchDetails(d.ObservedDrifts)))
		}
		for _, d := range ps.DiffedPlacements {
			lines = append(lines, fmt.Sprintf("differs %s: %s", objectName(d.ResourceIdentifier), patchDetails(d.ObservedDiffs)))
		}
		for j, l := range lines {
			fmt.Fprintf(w, "%s%s %s\n", pad, branch(j == len(lines)-1), l)
		}
	}
	return nil
}

func conditionLine(c metav1.Condition, label string) string {
	line := fmt.Sprintf("%-17s %-7s %s", label, c.Status, c.Reason)
	if c.Message != "" {
		line += ": " + c.Message
	}
	return line
}

func objectName(id placementv1beta1.ResourceIdentifier) string {
	kind := id.Kind
	if id.Group != "" {
		kind += "." + id.Group
	}
	if id.Namespace != "" {
		return kind + " " + id.Namespace + "/" + id.Name
	}
	return kind + " " + id.Name
}

func patchDetails(ds []placementv1beta1.PatchDetail) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%s member=%q hub=%q", d.Path, d.ValueInMember, d.ValueInHub))
	}
	return strings.Join(parts, "; ")
}
