package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/install"
)

func newCRDsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "crds",
		Short: "Install or upgrade Flotilla's CRDs on a hub",
	}
	var kubeconfig string
	apply := &cobra.Command{
		Use:   "apply",
		Short: "Apply Flotilla's CRDs to the hub, as this flotilla's version has them",
		Long: `Apply Flotilla's CRDs to the hub with server-side apply, and create the MCS API's and
ClusterProfile's CRDs when they are missing (another project may own those: they are
left as they are). It waits until the API server serves them.

Helm installs the CRDs of the flotilla-hub chart on the first install and never changes
them again: before 'helm upgrade' to a newer Flotilla, run this with the newer flotilla.
'flotilla hub' without --skip-install does the same itself, with the policies.`,
		Example: `  flotilla crds apply --kubeconfig hub.kubeconfig`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(kubeconfig, "hub")
			if err != nil {
				return err
			}
			if err := install.CRDs(cmd.Context(), cfg); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Flotilla's CRDs are applied and served")
			return nil
		},
	}
	apply.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the hub (default: KUBECONFIG or ~/.kube/config)")
	cmd.AddCommand(apply)
	return cmd
}
