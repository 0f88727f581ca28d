package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

func newMemberCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "member",
		Aliases: []string{"members"},
		Short:   "Join, list, drain, uncordon and unjoin the fleet's member clusters",
	}
	cmd.AddCommand(newMemberListCommand(), newMemberJoinCommand(), newMemberUnjoinCommand(), newMemberDrainCommand(), newMemberUncordonCommand())
	return cmd
}

// memberRow is one member as `member list` shows it; -o json and -o yaml print these rows.
type memberRow struct {
	Name          string     `json:"name"`
	Joined        string     `json:"joined"`
	Healthy       string     `json:"healthy"`
	LastHeartbeat *time.Time `json:"lastHeartbeat,omitempty"`
	K8sVersion    string     `json:"k8sVersion,omitempty"`
	Nodes         string     `json:"nodes,omitempty"`
	Region        string     `json:"region,omitempty"`
	Eligible      bool       `json:"eligible"`
	Reason        string     `json:"ineligibleReason,omitempty"`
}

func newMemberListCommand() *cobra.Command {
	var kubeconfig, output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the member clusters with their state and properties",
		Long: `List the fleet's member clusters: whether each joined and is healthy, the age of its
last heartbeat, its Kubernetes version, node count and region. -o json or -o yaml prints
the same rows, with whether each member is eligible for placements and why not.

The hub is the cluster of --kubeconfig, or else of $KUBECONFIG, ~/.kube/config, or the
in-cluster service account when run in a pod.`,
		Example: `  flotilla member list --kubeconfig hub.kubeconfig
  flotilla member list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := loadConfig(kubeconfig, "hub")
			if err != nil {
				return err
			}
			c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
			if err != nil {
				return err
			}
			rows, err := memberRows(cmd.Context(), c, time.Now())
			if err != nil {
				return err
			}
			return printMembers(cmd.OutOrStdout(), rows, output, time.Now())
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the hub (default: KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

func memberRows(ctx context.Context, c client.Client, now time.Time) ([]memberRow, error) {
	var list clusterv1beta1.MemberClusterList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing memberclusters on the hub: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	rows := make([]memberRow, 0, len(list.Items))
	for i := range list.Items {
		mc := &list.Items[i]
		row := memberRow{
			Name:       mc.Name,
			Joined:     conditionStatus(mc, clusterv1beta1.ConditionJoined),
			Healthy:    conditionStatus(mc, clusterv1beta1.ConditionHealthy),
			K8sVersion: mc.Status.Properties[clusterv1beta1.PropertyKubernetesVersion].Value,
			Nodes:      mc.Status.Properties[clusterv1beta1.PropertyNodeCount].Value,
			Region:     mc.Labels[clusterv1beta1.RegionLabel],
		}
		if agent := eligibility.AgentStatusOf(mc.Status.AgentStatus, clusterv1beta1.MemberAgent); agent != nil && !agent.LastReceivedHeartbeat.IsZero() {
			t := agent.LastReceivedHeartbeat.UTC()
			row.LastHeartbeat = &t
		}
		row.Eligible, row.Reason = eligibility.Eligible(mc, now)
		rows = append(rows, row)
	}
	return rows, nil
}

func conditionStatus(mc *clusterv1beta1.MemberCluster, t string) string {
	if c := meta.FindStatusCondition(mc.Status.Conditions, t); c != nil {
		return string(c.Status)
	}
	return "Unknown"
}

func printMembers(w io.Writer, rows []memberRow, output string, now time.Time) error {
	if done, err := printRows(w, rows, output); done {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tJOINED\tHEALTHY\tLAST-HEARTBEAT\tK8S-VERSION\tNODES\tREGION")
	for _, r := range rows {
		age := "<none>"
		if r.LastHeartbeat != nil {
			age = duration.HumanDuration(now.Sub(*r.LastHeartbeat)) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Joined, r.Healthy, age,
			orNone(r.K8sVersion), orNone(r.Nodes), orNone(r.Region))
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
