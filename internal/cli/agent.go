package cli

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/member"
)

func newAgentCommand() *cobra.Command {
	var (
		hubKubeconfig    string
		memberKubeconfig string
		opts             member.Options
		verbose          bool
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the member agent of one member cluster",
		Long: `Run the member agent. It reaches the hub as the member's own identity
(--hub-kubeconfig: the identity named in the MemberCluster's spec.identity), which may
read and write only in the hub namespace fleet-member-<name>. It reaches its own cluster
through --kubeconfig. While the hub says Join it sends a heartbeat every
heartbeatPeriodSeconds with the cluster's health and properties; when the hub says Leave
it reports that it left and keeps everything placed on the member.`,
		Example: `  flotilla agent --name member-1 --hub-kubeconfig member-1-hub.kubeconfig --kubeconfig member-1.kubeconfig`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Name == "" {
				return usageError{errors.New("--name is required: the member's name, as on its MemberCluster")}
			}
			if hubKubeconfig == "" {
				return usageError{errors.New("--hub-kubeconfig is required: the agent's own identity on the hub")}
			}
			setupLogging(cmd.ErrOrStderr(), verbose)
			hubCfg, err := loadConfig(hubKubeconfig, "hub")
			if err != nil {
				return err
			}
			memberCfg, err := loadConfig(memberKubeconfig, "member")
			if err != nil {
				return err
			}
			return member.Run(cmd.Context(), hubCfg, memberCfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "", "the member's name, as on its MemberCluster (required)")
	f.StringVar(&hubKubeconfig, "hub-kubeconfig", "", "kubeconfig of the agent's own identity on the hub (required)")
	f.StringVar(&memberKubeconfig, "kubeconfig", "", "kubeconfig of the member cluster (default: KUBECONFIG, ~/.kube/config or in-cluster)")
	f.StringVar(&opts.MetricsAddr, "metrics-bind-address", "0", "address of the metrics endpoint, such as 127.0.0.1:8090 (give :8090 to listen on every interface); 0 turns it off")
	f.StringVar(&opts.HealthAddr, "health-probe-bind-address", defaultAgentHealthAddr, "address of /healthz and /readyz (ready while heartbeats reach the hub); loopback only unless told otherwise: give :8091 to listen on every interface (as a kubelet's probes in a pod need); 0 turns it off")
	f.StringVar(&opts.UpgradeProvider, "upgrade-provider", "", "run this upgrade provider in the agent: local (the local fleet's fake nodes); empty runs none")
	f.DurationVar(&opts.NodeUpgradeDuration, "node-upgrade-duration", 2*time.Second, "with --upgrade-provider local: how long each node takes to upgrade once drained")
	f.BoolVarP(&verbose, "verbose", "v", false, "log in development mode, with debug lines")
	return cmd
}
