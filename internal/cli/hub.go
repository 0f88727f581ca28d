package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/hub"
	"github.com/flotilla-dev/flotilla/internal/hub/membership"
	"github.com/flotilla-dev/flotilla/internal/install"
)

// The health endpoints listen on loopback unless told otherwise: on every interface, anyone
// who reaches the machine could probe them.
const (
	defaultHubHealthAddr   = "127.0.0.1:8081"
	defaultAgentHealthAddr = "127.0.0.1:8091"
)

func newHubCommand() *cobra.Command {
	var (
		kubeconfig string
		opts       hub.Options
		noInstall  bool
		verbose    bool
	)
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Run the hub controllers against a hub cluster",
		Long: `Run the hub controllers: membership now, and placement, updates and networking as
they land. The hub cluster is any Kubernetes API server; --kubeconfig reaches it (or
KUBECONFIG, or the in-cluster service account). Before starting, the command installs
or updates Flotilla's CRDs and policies on the hub unless --skip-install is given.`,
		Example: `  flotilla hub --kubeconfig hub.kubeconfig
  flotilla hub --kubeconfig hub.kubeconfig --force-delete-wait 5m --leader-elect`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			setupLogging(cmd.ErrOrStderr(), verbose)
			if opts.MaxStaleShare <= 0 || opts.MaxStaleShare > 1 {
				return fmt.Errorf("--max-stale-share is %v: give a share above 0 and at most 1, such as %v", opts.MaxStaleShare, eligibility.DefaultMaxStaleShare)
			}
			if opts.StaleGrace < 0 {
				return fmt.Errorf("--stale-grace is %s: give a duration of 0 or more, such as %s", opts.StaleGrace, eligibility.HeartbeatStaleAfter)
			}
			cfg, err := loadConfig(kubeconfig, "hub")
			if err != nil {
				return err
			}
			if !noInstall {
				if err := install.Hub(cmd.Context(), cfg); err != nil {
					return err
				}
			}
			return hub.Run(cmd.Context(), cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the hub cluster (default: KUBECONFIG, ~/.kube/config or in-cluster)")
	f.DurationVar(&opts.ForceDeleteWait, "force-delete-wait", membership.DefaultForceDeleteWait, "how long a deleted MemberCluster waits for its agent to leave before the hub removes it anyway")
	f.StringVar(&opts.MetricsAddr, "metrics-bind-address", "0", "address of the metrics endpoint, such as 127.0.0.1:8080 (give :8080 to listen on every interface); 0 turns it off")
	f.StringVar(&opts.HealthAddr, "health-probe-bind-address", defaultHubHealthAddr, "address of /healthz and /readyz; loopback only unless told otherwise: give :8081 to listen on every interface (as a kubelet's probes in a pod need); 0 turns it off")
	f.BoolVar(&opts.LeaderElection, "leader-elect", false, "take a lease in fleet-system so that only one of several hub replicas acts")
	f.DurationVar(&opts.StaleGrace, "stale-grace", eligibility.HeartbeatStaleAfter, "how long after the hub controllers start, or the hub's API server answers again, no member is judged stale for old heartbeats")
	f.Float64Var(&opts.MaxStaleShare, "max-stale-share", eligibility.DefaultMaxStaleShare, "share of joined members (0 to 1) that may look stale at once; when more do, the scheduler moves no placement away from stale members")
	f.BoolVar(&noInstall, "skip-install", false, "do not install or update the CRDs and policies on start")
	f.BoolVarP(&verbose, "verbose", "v", false, "log in development mode, with debug lines")
	return cmd
}
