package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

func newServiceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "service",
		Aliases: []string{"services", "svc"},
		Short:   "Look at the fleet's multi-cluster services",
	}
	cmd.AddCommand(newServiceListCommand())
	return cmd
}

// serviceRow is one exported service as `service list` shows it.
type serviceRow struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Clusters are the exporting clusters, each with its weight.
	Clusters []exporter `json:"clusters"`
	// Importers are the members where the import is in place.
	Importers []string `json:"importers"`
	// ClusterSetIPs are the clusterset IPs, by member.
	ClusterSetIPs map[string]string `json:"clustersetIPs,omitempty"`
	// LoadBalancer is the MultiClusterService holding the import and its address.
	LoadBalancer *loadBalancerRow `json:"loadBalancer,omitempty"`
}

type exporter struct {
	Cluster  string `json:"cluster"`
	Weight   int32  `json:"weight"`
	Conflict string `json:"conflict,omitempty"`
}

type loadBalancerRow struct {
	Cluster             string `json:"cluster"`
	MultiClusterService string `json:"multiClusterService"`
	Address             string `json:"address,omitempty"`
}

func newServiceListCommand() *cobra.Command {
	var kubeconfig, output, namespace string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the exported services: clusters, conflicts, importers, clusterset IPs, load balancer",
		Long: `List every service exported to the fleet (a ServiceExport in some member), as the hub
resolved it: the exporting clusters with their weights and conflicts (the mcs-api reason of
each export's Conflict condition), the members where the import is in place, each member's
clusterset IP, and the MultiClusterService that holds the import with its load balancer
address. It reads the hub through --kubeconfig (an identity that may read
networking.flotilla.dev objects in every fleet-member-* namespace).`,
		Example: `  flotilla service list --kubeconfig hub.kubeconfig
  flotilla service list -n demo -o yaml`,
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
			rows, err := serviceRows(cmd.Context(), c, namespace)
			if err != nil {
				return err
			}
			return printServices(cmd.OutOrStdout(), rows, output)
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the hub (default: KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only services of this namespace (default: all)")
	return cmd
}

func serviceRows(ctx context.Context, c client.Client, namespace string) ([]serviceRow, error) {
	var exports networkingv1alpha1.InternalServiceExportList
	if err := c.List(ctx, &exports); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the hub does not serve networking.flotilla.dev: install Flotilla's CRDs on it ('flotilla hub' does at start)")
		}
		return nil, fmt.Errorf("listing internalserviceexports on the hub: %w", err)
	}
	var imports networkingv1alpha1.InternalServiceImportList
	if err := c.List(ctx, &imports); err != nil {
		return nil, fmt.Errorf("listing internalserviceimports on the hub: %w", err)
	}
	rows := map[string]*serviceRow{}
	row := func(ns, name string) *serviceRow {
		key := ns + "/" + name
		if rows[key] == nil {
			rows[key] = &serviceRow{Namespace: ns, Name: name, ClusterSetIPs: map[string]string{}}
		}
		return rows[key]
	}
	for _, e := range exports.Items {
		if namespace != "" && e.Spec.ServiceNamespace != namespace {
			continue
		}
		x := exporter{Cluster: e.Spec.Cluster, Weight: e.Spec.Weight}
		if cond := meta.FindStatusCondition(e.Status.Conditions, string(mcsv1beta1.ServiceExportConditionConflict)); cond != nil && cond.Status == "True" {
			x.Conflict = cond.Reason
		}
		r := row(e.Spec.ServiceNamespace, e.Spec.ServiceName)
		r.Clusters = append(r.Clusters, x)
	}
	for _, imp := range imports.Items {
		if namespace != "" && imp.Spec.ServiceNamespace != namespace {
			continue
		}
		r := row(imp.Spec.ServiceNamespace, imp.Spec.ServiceName)
		member := strings.TrimPrefix(imp.Namespace, clusterv1beta1.NamespacePrefix)
		if meta.IsStatusConditionTrue(imp.Status.Conditions, "Ready") {
			r.Importers = append(r.Importers, member)
		}
		if len(imp.Status.IPs) > 0 {
			r.ClusterSetIPs[member] = strings.Join(imp.Status.IPs, ",")
		}
		if h := imp.Spec.LoadBalancer; h != nil && h.Cluster == member {
			lb := &loadBalancerRow{Cluster: h.Cluster, MultiClusterService: h.Name}
			for _, in := range imp.Status.LoadBalancer.Ingress {
				lb.Address = in.IP + in.Hostname
			}
			r.LoadBalancer = lb
		}
	}
	out := make([]serviceRow, 0, len(rows))
	for _, r := range rows {
		sort.Slice(r.Clusters, func(i, j int) bool { return r.Clusters[i].Cluster < r.Clusters[j].Cluster })
		sort.Strings(r.Importers)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func printServices(w io.Writer, rows []serviceRow, output string) error {
	if done, err := printRows(w, rows, output); done {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tNAME\tCLUSTERS\tCONFLICTS\tIMPORTERS\tCLUSTERSET-IPS\tLOAD-BALANCER")
	for _, r := range rows {
		var clusters, conflicts, ips []string
		for _, x := range r.Clusters {
			s := x.Cluster
			if x.Weight != networkingv1alpha1.DefaultWeight {
				s += fmt.Sprintf("(w=%d)", x.Weight)
			}
			clusters = append(clusters, s)
			if x.Conflict != "" {
				conflicts = append(conflicts, x.Cluster+":"+x.Conflict)
			}
		}
		for _, m := range sortedKeys(r.ClusterSetIPs) {
			ips = append(ips, m+"="+r.ClusterSetIPs[m])
		}
		lb := "<none>"
		if r.LoadBalancer != nil {
			lb = fmt.Sprintf("%s/%s %s", r.LoadBalancer.Cluster, r.LoadBalancer.MultiClusterService, orNone(r.LoadBalancer.Address))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Namespace, r.Name, joinOrNone(clusters), joinOrNone(conflicts),
			joinOrNone(r.Importers), joinOrNone(ips), lb)
	}
	return tw.Flush()
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "<none>"
	}
	return strings.Join(s, ",")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
